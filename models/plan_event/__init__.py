"""A Child Protection Plan event: which events go out at once, to whom, and what is told
(policy.py), and how a feed of them from a school information system is read (feed.py).
"""
