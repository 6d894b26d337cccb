"""A sharing case, one stage a module, each with its values and the rules over them: the
concern (concern.py), the criteria assessment (criteria.py) and the decision it leads to, an
emergency share among them (decision.py), management sign-off and ratification (signoff.py),
MASH advice (mash.py), parents or carers (parents.py), and a disclosure's receipt
(disclosure.py).
"""
