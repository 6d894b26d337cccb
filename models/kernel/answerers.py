"""Who may answer a waiting step, whatever the kind of case: the step's roles, an active
account, a second and different person where the policy asks for one, and never the member of
staff an allegation is about.
"""

from __future__ import annotations

from collections.abc import Mapping

from models.kernel.problems import Problem
from models.kernel.roles import StaffMember
from models.kernel.steps import HUMAN_STEPS, Step


def answerer_problems(
    step: Step,
    answerer: StaffMember | None,
    *,
    first_signer: str | None = None,
    subject: str | None = None,
) -> list[Problem]:
    """Whether this person may answer this step: role, active account, two different people
    (`first_signer`: the DSL who assessed, or whoever received an access request), and never the
    member of staff the case's allegation is about (`subject`)."""
    try:
        step = Step(step)  # step codes also arrive as text from the case database
    except ValueError:
        step = None  # type: ignore[assignment]
    allowed = HUMAN_STEPS.get(step) if step is not None else None
    if step is None or allowed is None:
        return [
            Problem(
                code="step-not-answerable", message=f"Step '{step}' is not answered by a person."
            )
        ]
    if answerer is None:
        return [Problem(code="unknown-staff", message="No member of staff has that id.")]
    if not answerer.active:
        return [Problem(code="staff-inactive", message=f"{answerer.staff_id} is no longer active.")]
    if subject is not None and answerer.staff_id == subject:
        return [
            Problem(
                code="subject-of-allegation",
                message=f"This case concerns an allegation about {answerer.staff_id}: they "
                "cannot see it or act on it.",
            )
        ]
    if answerer.role not in allowed:
        roles = ", ".join(sorted(allowed))
        return [
            Problem(
                code="role-not-allowed",
                message=f"{answerer.staff_id} is '{answerer.role}'; this step needs {roles}.",
            )
        ]
    if (
        step is Step.ACCESS_DECISION
        and first_signer is not None
        and (answerer.staff_id == first_signer)
    ):
        return [
            Problem(
                code="received-request",
                message="A request to see child protection records is decided by the DSL or a "
                f"senior leader, never by whoever received it: {answerer.staff_id} did.",
            )
        ]
    if (
        step in (Step.MANAGEMENT_SIGNOFF, Step.RATIFICATION)
        and first_signer is not None
        and answerer.staff_id == first_signer
    ):
        return [
            Problem(
                code="same-person",
                message="The decision to share without consent needs a second, different person: "
                f"{answerer.staff_id} made the assessment.",
            )
        ]
    return []


def eligible_answerers(
    step: Step,
    staff: Mapping[str, StaffMember],
    *,
    first_signer: str | None = None,
    subject: str | None = None,
) -> list[str]:
    """Everyone who may answer a waiting step, for notifications and for `case show`."""
    return sorted(
        sid
        for sid, member in staff.items()
        if not answerer_problems(step, member, first_signer=first_signer, subject=subject)
    )
