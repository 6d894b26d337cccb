"""Need to know, as a table: every action by every kind of person, and the rules that depend on
the case (an allegation about the asker, a sign-off not awaited, another agency's disclosure)."""

from __future__ import annotations

import pytest

from models.access import AGENCY, MATRIX, Action, CaseView, Principal, decide
from models.kernel.answerers import answerer_problems, eligible_answerers
from models.kernel.roles import Role, StaffMember
from models.kernel.steps import Step

Y, N = True, False
#: action: (staff, dsl, deputy-dsl, slt, admin, agency), as the policy and the issue say.
EXPECTED: dict[Action, tuple[bool, bool, bool, bool, bool, bool]] = {
    Action.RECORD_CONCERN: (Y, Y, Y, Y, N, N),
    Action.RECORD_FOR_OTHERS: (N, Y, Y, N, N, N),
    Action.LIST_CASES: (N, Y, Y, N, N, N),
    Action.READ_CASE: (N, Y, Y, N, N, N),
    Action.ACT_ON_CASE: (N, Y, Y, N, N, N),
    Action.READ_SIGNOFF: (N, N, N, Y, N, N),
    Action.READ_DISCLOSURE: (N, N, N, N, N, Y),
    Action.READ_OVERDUE: (N, Y, Y, Y, N, N),
    Action.READ_AUDIT: (N, Y, Y, N, Y, N),
    Action.MANAGE_DIRECTORY: (N, N, N, N, Y, N),
    Action.READ_DIRECTORY: (N, Y, Y, N, Y, N),
    Action.MANAGE_PLANS: (N, Y, Y, N, Y, N),
    Action.RECORD_NOTICE: (N, Y, Y, N, N, N),
    Action.MANAGE_SYSTEM: (N, N, N, N, Y, N),
    Action.TEST_NOTIFICATIONS: (N, Y, Y, N, Y, N),
}
KINDS = (Role.STAFF.value, Role.DSL.value, Role.DEPUTY_DSL.value, Role.SLT.value, "admin", AGENCY)
#: A case the action may apply to, where one is needed for it to be allowed at all.
CASE = CaseView(case_id=7, waiting_step=Step.MANAGEMENT_SIGNOFF.value, agencies=("csc",))


def test_every_action_is_in_the_table() -> None:
    assert set(EXPECTED) == set(Action) == set(MATRIX)


@pytest.mark.parametrize(
    ("action", "kind", "allowed"),
    [
        pytest.param(action, kind, allowed, id=f"{action.value}-{kind}")
        for action, row in EXPECTED.items()
        for kind, allowed in zip(KINDS, row, strict=True)
    ],
)
def test_the_role_matrix(action: Action, kind: str, allowed: bool) -> None:
    who = Principal(id="csc" if kind == AGENCY else "p1", role=kind)
    problem = decide(who, action, CASE)
    assert (problem is None) is allowed, problem
    if not allowed:
        assert problem is not None and problem.code == "not-allowed"


@pytest.mark.parametrize("action", list(Action))
def test_nobody_unknown_or_inactive_is_let_in(action: Action) -> None:
    assert decide(None, action).code == "no-identity"  # type: ignore[union-attr]
    assert decide(Principal(id="x", role="unknown"), action).code == "unknown-staff"  # type: ignore[union-attr]
    gone = Principal(id="x", role=Role.DSL.value, active=False)
    assert decide(gone, action).code == "inactive"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "action", [Action.READ_CASE, Action.ACT_ON_CASE, Action.READ_AUDIT, Action.READ_SIGNOFF]
)
def test_nobody_sees_a_case_about_an_allegation_against_themselves(action: Action) -> None:
    role = {Action.READ_SIGNOFF: Role.SLT, Action.READ_AUDIT: Role.ADMIN}.get(action, Role.DSL)
    about_me = CaseView(case_id=7, allegation_against="p1", waiting_step="management-signoff")
    problem = decide(Principal(id="p1", role=role.value), action, about_me)
    assert problem is not None and problem.code == "subject-of-allegation"
    assert decide(Principal(id="p2", role=role.value), action, about_me) is None


def test_the_management_team_sees_a_case_only_while_its_sign_off_is_awaited() -> None:
    head = Principal(id="head1", role=Role.SLT.value)
    for step in ("management-signoff", "ratification"):
        assert decide(head, Action.READ_SIGNOFF, CaseView(case_id=1, waiting_step=step)) is None
    for step in (None, "assess-criteria", "parents", "confirm-receipt"):
        problem = decide(head, Action.READ_SIGNOFF, CaseView(case_id=1, waiting_step=step))
        assert problem is not None and problem.code == "not-awaiting-signoff"


def test_an_agency_sees_only_its_own_disclosure() -> None:
    csc = Principal(id="csc", role=AGENCY)
    for mine in (("csc",), ("police", "csc")):  # a decision may share with several agencies
        assert decide(csc, Action.READ_DISCLOSURE, CaseView(case_id=1, agencies=mine)) is None
    for other in (("police",), ()):
        problem = decide(csc, Action.READ_DISCLOSURE, CaseView(case_id=1, agencies=other))
        assert problem is not None and problem.code == "not-your-disclosure"


def test_the_subject_of_an_allegation_is_never_asked_to_answer() -> None:
    staff = {
        "dsl1": StaffMember(staff_id="dsl1", role=Role.DSL),
        "dep1": StaffMember(staff_id="dep1", role=Role.DEPUTY_DSL),
        "head1": StaffMember(staff_id="head1", role=Role.SLT),
        "head2": StaffMember(staff_id="head2", role=Role.SLT),
    }
    assert eligible_answerers(Step.ASSESS_CRITERIA, staff, subject="dsl1") == ["dep1"]
    assert eligible_answerers(Step.MANAGEMENT_SIGNOFF, staff, subject="head2") == ["head1"]
    problems = answerer_problems(Step.ASSESS_CRITERIA, staff["dsl1"], subject="dsl1")
    assert [p.code for p in problems] == ["subject-of-allegation"]
    assert not answerer_problems(Step.ASSESS_CRITERIA, staff["dsl1"], subject="dep1")
