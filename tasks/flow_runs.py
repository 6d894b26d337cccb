"""Reading Prefect's flow runs for the safety nets (every page, never only the first). (A run a
crash or a failure stopped is restarted with tasks/prefect_api.py::PrefectApi.restart.)

Prefect answers a filter of flow runs with at most `PREFECT_SERVER_API_DEFAULT_LIMIT` runs (200
unless the server says otherwise), silently: a safety net that reads one page stops looking after
200 cases. Every query a safety net relies on goes through `every_flow_run` (or, for runs whose
ids the case database names, `flow_runs_by_id`).
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from uuid import UUID

import certifi
from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterName,
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.context import SyncClientContext
from prefect.settings import (
    PREFECT_API_SSL_CERT_FILE,
    PREFECT_API_TLS_INSECURE_SKIP_VERIFY,
    PREFECT_SERVER_API_DEFAULT_LIMIT,
)

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient


@functools.cache
def _tls() -> ssl.SSLContext:
    """The TLS context Prefect's client builds for every client it makes, built once per
    process the same way: Prefect reads the whole CA bundle again for each client (about 30 ms of
    CPU, a third of a test worker's time in the flow tests), even for an http:// API."""
    if PREFECT_API_TLS_INSECURE_SKIP_VERIFY.value():
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=PREFECT_API_SSL_CERT_FILE.value() or certifi.where())


def prefect_client() -> SyncPrefectClient:
    """A client of the Prefect API in force (use it as a context manager): inside a run, the
    run's own (Prefect hands it out only when no settings are asked for); elsewhere a new one on
    the process's TLS context."""
    if SyncClientContext.get() is not None:
        return get_client(sync_client=True)
    return get_client(sync_client=True, httpx_settings={"verify": _tls()})


def page_size(page: int | None = None) -> int:
    """Runs asked for per request: the most Prefect's API gives (its default limit, which this
    process shares with the server it runs beside), unless a smaller page is asked for."""
    return page or PREFECT_SERVER_API_DEFAULT_LIMIT.value()


def every_flow_run(
    client: SyncPrefectClient,
    *,
    flow_filter: FlowFilter | None = None,
    deployment_filter: DeploymentFilter | None = None,
    flow_run_filter: FlowRunFilter | None = None,
    page: int | None = None,
) -> list[FlowRun]:
    """Every flow run the filters match, read page by page in a stable order (by id).

    The pages are all read before anything acts on them, and each overlaps the one before by a
    quarter: a run that leaves the filter while the pages are read (resumed, restarted, suspended
    by its own process) moves the later ones back, and the overlap keeps those from being
    skipped; a run read twice is kept once."""
    size = page_size(page)
    overlap = size // 4
    found: dict[UUID, FlowRun] = {}
    offset = 0
    while True:
        batch = client.read_flow_runs(
            flow_filter=flow_filter,
            deployment_filter=deployment_filter,
            flow_run_filter=flow_run_filter,
            sort=FlowRunSort.ID_DESC,
            limit=size,
            offset=offset,
        )
        for run in batch:
            found.setdefault(run.id, run)
        if len(batch) < size:
            return list(found.values())
        offset += size - overlap


def flow_runs_by_id(
    client: SyncPrefectClient, ids: Iterable[str | UUID], *, page: int | None = None
) -> dict[str, FlowRun]:
    """The flow runs with these ids that Prefect has, by id (as text), asked for a page at a
    time; an id Prefect does not know is left out."""
    size = page_size(page)
    wanted = sorted({UUID(str(i)) for i in ids})
    runs: dict[str, FlowRun] = {}
    for start in range(0, len(wanted), size):
        batch = wanted[start : start + size]
        for run in client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=batch)), limit=len(batch)
        ):
            runs[str(run.id)] = run
    return runs


def case_runs(
    client: SyncPrefectClient,
    flow_names: Sequence[str],
    deployment_name: str,
    states: Sequence[StateType],
    *,
    page: int | None = None,
) -> list[FlowRun]:
    """Every run of the case flows served under `deployment_name` in one of `states`."""
    return every_flow_run(
        client,
        flow_filter=FlowFilter(name=FlowFilterName(any_=list(flow_names))),
        deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment_name])),
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=list(states)))
        ),
        page=page,
    )
