"""Linkage API under /api/v1/registry/linkage (数据融合): the review queue, decisions, runs.

Every route needs ``registry.link`` (data stewards, in a signed-in session: no token scope
grants it). Pairs, persons and decisions outside the steward's reach (``scope``) answer 404
like missing ones; a refused action answers with its status (400 bad input, 403, 409 against
the current state) and a message. Values are masked, as on the pages.

No ``from __future__ import annotations`` here: ninja reads these annotations at import time.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.core.paginator import Paginator
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from ..models import LinkDecision, LinkRun, ReviewStatus, SourceRecord
from . import conflicts, present, runs, scope, service
from .errors import LinkingError

router = Router(tags=["registry linkage"])
REFUSALS = {"responses": {403: {"description": "not a data steward, or not allowed here"},
                          404: {"description": "not found, or outside the steward's reach"},
                          409: {"description": "conflicts with the current state"}}}


@contextmanager
def _answers() -> Iterator[None]:
    try:
        yield
    except LinkingError as exc:
        raise HttpError(exc.status, exc.message) from exc


def _token(request: HttpRequest):
    return getattr(request, "api_token", None)


def _allowed(request: HttpRequest) -> None:
    scope.can_link(request.user, _token(request))


class RowOut(Schema):
    id: int
    dataset: str
    department: str
    person: int | None
    observed_at: datetime
    values: dict[str, str] = Field(description="masked values by standard field")


class ReviewOut(Schema):
    id: int
    probability: float
    held_back: str
    held_back_text: str
    agreement: dict[str, str] = Field(description="comparison → level it agreed at")
    record_a: RowOut
    record_b: RowOut


class ReviewPage(Schema):
    count: int
    page: int
    pages: int
    items: list[ReviewOut]


class PageQuery(Schema):
    page: int = Field(1, ge=1)
    page_size: int = Field(20, ge=1, le=100)


class DecideIn(Schema):
    verdict: str = Field(description="same | apart")
    reason: str = Field(description="why (at most 200 characters)")


class DecisionOut(Schema):
    id: int
    record_a: int
    record_b: int
    verdict: str
    reason: str
    decided_by: str
    decided_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None


class MergeIn(Schema):
    keep: int = Field(description="the person that stays (its number is kept)")
    other: int = Field(description="the person whose records move to it")
    reason: str


class MergeOut(Schema):
    decision: int
    kept: int
    merged: int | None
    moved: list[int]
    removed: bool
    kept_because: str


class SplitIn(Schema):
    record: int = Field(description="the source record to split off its person")
    reason: str


class SplitOut(Schema):
    decisions: list[int]
    person: int | None = Field(description="the person the record left")
    new_person: int | None


class RunOut(Schema):
    id: int
    status: str
    step: str
    started_at: datetime
    finished_at: datetime | None
    records: int
    persons: int
    created_persons: int
    review: int
    conflicts: int
    seconds: float | None


class RunsOut(Schema):
    live: RunOut | None
    last: list[RunOut]
    queue: int = Field(description="open review pairs in the steward's reach")
    conflicts: int = Field(description="persons with conflicts in the steward's reach")


class QueuedOut(Schema):
    run: RunOut
    queued: bool = Field(description="false: a run was already waiting")


class ConflictRowOut(Schema):
    record: int
    dataset: str
    department: str
    observed_at: datetime
    value: str
    trust: int
    winner: bool
    why: str


class ConflictFieldOut(Schema):
    field: str
    label: str
    rows: list[ConflictRowOut]


class ConflictOut(Schema):
    person: int
    fields: list[ConflictFieldOut]


class ConflictPage(Schema):
    count: int
    page: int
    pages: int
    items: list[ConflictOut]


def _row(row: SourceRecord) -> RowOut:
    return RowOut(id=row.pk, dataset=row.dataset.code, department=row.dataset.department.name,
                  person=row.person_id, observed_at=row.observed_at,
                  values={code: conflicts.shown(code, row) for code in (row.masked or {})})


def _decision(d: LinkDecision) -> DecisionOut:
    return DecisionOut(id=d.pk, record_a=d.record_a_id, record_b=d.record_b_id,
                       verdict=d.verdict, reason=d.reason,
                       decided_by=d.decided_by.get_username(), decided_at=d.decided_at,
                       revoked_by=d.revoked_by.get_username() if d.revoked_by_id else None,
                       revoked_at=d.revoked_at)


def _run(run: LinkRun) -> RunOut:
    view = present.run_view(run)
    return RunOut(**{k: view[k] for k in RunOut.model_fields})


@router.get("/review", response=ReviewPage, url_name="registry_linkage_review",
            openapi_extra=REFUSALS)
def review_list(request: HttpRequest, q: Query[PageQuery]):
    """Open review pairs in the steward's reach, the most likely first (masked)."""
    _allowed(request)
    items = (scope.review_items(request.user).filter(status=ReviewStatus.OPEN)
             .select_related("record_a__dataset__department", "record_b__dataset__department")
             .order_by("-probability", "pk"))
    page = Paginator(items, q.page_size).get_page(q.page)
    return ReviewPage(count=page.paginator.count, page=page.number,
                      pages=page.paginator.num_pages, items=[ReviewOut(
                          id=i.pk, probability=i.probability, held_back=i.held_back,
                          held_back_text=present.held_back_text(i.held_back),
                          agreement=i.agreement or {}, record_a=_row(i.record_a),
                          record_b=_row(i.record_b)) for i in page.object_list])


@router.post("/review/{int:item_id}/decide", response=DecisionOut,
             url_name="registry_linkage_decide", openapi_extra=REFUSALS)
def decide(request: HttpRequest, item_id: int, body: DecideIn):
    """Decide a pair — the same person or different persons — and apply it at once."""
    with _answers():
        decision = service.decide(request.user, item_id, body.verdict, body.reason,
                                  token=_token(request))
    return _decision(decision)


@router.post("/merge", response=MergeOut, url_name="registry_linkage_merge",
             openapi_extra=REFUSALS)
def merge(request: HttpRequest, body: MergeIn):
    """Merge person ``other`` into ``keep``: its records (and tags added by hand) move."""
    with _answers():
        effect = service.merge(request.user, body.keep, body.other, body.reason,
                               token=_token(request))
    return MergeOut(decision=effect.decision, kept=effect.kept, merged=effect.merged,
                    moved=effect.moved, removed=effect.removed,
                    kept_because=present.kept_text(effect.kept_because)
                    if effect.kept_because else "")


@router.post("/split", response=SplitOut, url_name="registry_linkage_split",
             openapi_extra=REFUSALS)
def split(request: HttpRequest, body: SplitIn):
    """Split a source record off its person; it is kept apart from the person's others."""
    with _answers():
        effect = service.split(request.user, body.record, body.reason, token=_token(request))
    return SplitOut(decisions=effect.decisions, person=effect.source,
                    new_person=effect.target)


@router.get("/decisions", response=list[DecisionOut], url_name="registry_linkage_decisions",
            openapi_extra=REFUSALS)
def decision_list(request: HttpRequest, q: Query[PageQuery]):
    """Decisions in the steward's reach, newest first."""
    _allowed(request)
    qs = (scope.decisions(request.user).select_related("decided_by", "revoked_by")
          .order_by("-decided_at", "-pk"))
    page = Paginator(qs, q.page_size).get_page(q.page)
    return [_decision(d) for d in page.object_list]


@router.post("/decisions/{int:decision_id}/revoke", response=DecisionOut,
             url_name="registry_linkage_revoke", openapi_extra=REFUSALS)
def revoke(request: HttpRequest, decision_id: int):
    """Revoke a decision: the persons are restored as they were before it."""
    with _answers():
        decision = service.revoke(request.user, decision_id, token=_token(request))
    return _decision(decision)


@router.get("/runs", response=RunsOut, url_name="registry_linkage_runs",
            openapi_extra=REFUSALS)
def run_status(request: HttpRequest):
    """The run waiting or running (if any), the last ten runs, and the steward's counts."""
    _allowed(request)
    live = LinkRun.objects.filter(status__in=runs.LIVE).order_by("pk").first()
    last = LinkRun.objects.order_by("-started_at")[:10]
    return RunsOut(live=_run(live) if live else None, last=[_run(r) for r in last],
                   queue=scope.review_items(request.user).filter(
                       status=ReviewStatus.OPEN).count(),
                   conflicts=conflicts.count(request.user))


@router.post("/runs", response={202: QueuedOut}, url_name="registry_linkage_run_now",
             openapi_extra=REFUSALS)
def run_now(request: HttpRequest):
    """Queue a run for the worker ("run now"); a run already waiting is answered instead."""
    run, queued = runs.queue_run(request.user, _token(request))
    return Status(202, QueuedOut(run=_run(run), queued=queued))


@router.get("/conflicts", response=ConflictPage, url_name="registry_linkage_conflicts",
            openapi_extra=REFUSALS)
def conflict_list(request: HttpRequest, page: int = 1):
    """Persons in the steward's reach whose sources disagree: every source's masked value,
    and which won and why."""
    _allowed(request)
    current, listed = conflicts.conflicts_page(request.user, page)
    return ConflictPage(count=current.paginator.count, page=current.number,
                        pages=current.paginator.num_pages, items=[ConflictOut(
                            person=pc.person.pk, fields=[ConflictFieldOut(
                                field=f.code, label=f.label,
                                rows=[ConflictRowOut(**vars(r)) for r in f.rows])
                                for f in pc.fields]) for pc in listed])
