"""Texts that leave the case database: notifications and dashboard form descriptions.

They carry a case reference, a step, staff ids and links; never a name or what happened. The
wording every case shares (cases.py, waits.py), then each kind's own (sharing.py,
disclosure.py, plan_event.py, notice.py).
"""
