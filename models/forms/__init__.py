"""The forms a person answers when a case waits, one per human step (plain pydantic models; a
run waits on each as Prefect's run input, flows/waiting.py).

Each form is its domain value plus the rule checks that need nothing but the answer itself, so
the dashboard, the CLI and the flow all refuse the same answers. Checks that need the case
database (who may answer, two different people) are in `models.kernel.answerers`. What every
form is (base.py), each kind's forms (sharing.py, access_request.py, notice.py, transfer.py),
every step's form (registry.py), and what each asks on the command line (fields.py).
"""
