"""What every kind of case shares: the value types (values.py), why an answer is refused
(problems.py), roles (roles.py), the kinds of case and their steps (steps.py), waits
(waits.py), who may answer a wait (answerers.py), and the directory's values (directory.py).

Each kind of case keeps its own values and rules beside this: sharing/, access_request.py,
notice.py, transfer.py and plan_event/.
"""
