"""Where the audit trail is anchored outside the case database: its head (the last entry's
number and hash: a code, no content) is appended to the anchor file and sent to the DSL, so a
chain later cut short or rewritten, even by someone holding the audit key, no longer matches.

A chain that does not verify is never anchored: the DSL is told where it breaks instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from foundations.audit_check import check_anchors, read_anchors, verify_chain, write_anchor
from foundations.db import session_scope
from foundations.settings import get_settings
from models.audit import Anchor
from tasks.notify import deliver
from tasks.prefect_task import task


@dataclass(frozen=True)
class AnchorReport:
    outcome: str  # anchored, unchanged (anchored before), empty, or broken (the DSL is told)
    seq: int = 0  # the entry anchored, or where the chain breaks
    sent: bool = False  # the message reached its tag (else the outbox says why)

    @property
    def code(self) -> str:
        return f"{self.outcome}:{self.seq}"


def anchor_now(now: datetime | None = None) -> AnchorReport:
    """Verify the chain against its key and its anchors, then anchor its head (once per head)
    and send it."""
    settings = get_settings()
    now = now or datetime.now(UTC)
    anchors = read_anchors()
    with session_scope() as session:
        result = verify_chain(session)
        broken = result.broken or check_anchors(session, anchors)
    if broken is not None:
        sent = deliver(
            f"audit-broken:{broken.seq}:{now.date().isoformat()}",
            case_id=None,
            tag=settings.audit_anchor_tag,
            kind="audit-broken",
            title=f"safeshare: the audit trail is broken at entry {broken.seq}",
            body=f"The audit trail does not verify at entry {broken.seq}: {broken.problem}. "
            "It was not anchored. Run `safeshare audit verify` and tell whoever keeps the "
            "system.",
        )
        return AnchorReport("broken", broken.seq, sent)
    if result.entries == 0:
        return AnchorReport("empty")
    seq, code = result.entries, result.head_hash
    if anchors and anchors[-1].seq == seq:
        outcome = "unchanged"
    else:
        write_anchor(Anchor(seq=seq, hash=code, at=now.isoformat(timespec="seconds")))
        outcome = "anchored"
    sent = deliver(  # once per head: the outbox keeps a message already sent from going again
        f"audit-anchor:{seq}:{code[:16]}",
        case_id=None,
        tag=settings.audit_anchor_tag,
        kind="audit-anchor",
        title=f"safeshare: audit trail anchor, entry {seq}",
        body=f"The audit trail's head on {now.date().isoformat()}: entry {seq}, code {code}. "
        "Keep this message apart from the school's systems: `safeshare audit verify --anchor "
        f"{seq}:{code}` proves the trail up to this entry has not been rewritten since.",
    )
    return AnchorReport(outcome, seq, sent)


@task(name="anchor-audit-trail", retries=1, retry_delay_seconds=10)
def anchor_audit_trail() -> str:
    """Anchor the audit trail's head outside the case database (file and message):
    `anchored:<entry>`, `unchanged:<entry>`, `empty:0` or `broken:<entry>`."""
    return anchor_now().code
