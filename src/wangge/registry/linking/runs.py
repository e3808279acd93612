"""Linkage runs — 融合批次: every person row through the engine, clusters mapped to persons.

``run_linkage`` opens the rows of every person dataset in memory into the engine's standard
fields, links them with the stewards' active decisions (``wangge.linkage``), and maps the
clusters onto master persons by overlap: a cluster keeps the person most of its rows already
belong to (person ids stay stable for tags, forms and links), other clusters get new persons,
and a person left without rows is removed unless something refers to it (``persons``).
Uncertain pairs become the review queue (``ReviewItem``): proposed pairs are opened or
updated, pairs no longer proposed go stale, decided ones stay.

Only one run at a time: a run is claimed from the queue (``queued`` → ``running``) under a
row lock on every live run, so a second worker sees the running one and leaves. A steward's
merge or un-merge during a run is not lost: the run applies its clusters under a lock on its
own row (merges wait on it) after reading the decisions again and re-clustering with them.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pyarrow as pa
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from wangge.audit.services import record
from wangge.catalog.models import Entity
from wangge.linkage import decisions as engine_decisions
from wangge.linkage.engine import LinkResult, link, recluster

from .. import records
from ..models import (
    LinkDecision,
    LinkRun,
    Person,
    PersonStatus,
    ReviewItem,
    ReviewStatus,
    SourceRecord,
    Verdict,
)
from . import persons
from .errors import LinkingError
from .scope import can_link

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
LIVE = (QUEUED, RUNNING)
# A run "running" for longer than this was left by a worker that stopped: it is failed.
STALE_AFTER = datetime.timedelta(hours=6)
ENGINE_FIELDS = ("name", "id_number", "birth_date", "sex", "phone", "address")
VERDICTS = {Verdict.SAME: engine_decisions.Verdict.MERGE,
            Verdict.APART: engine_decisions.Verdict.KEEP_APART}
CHUNK = 2000
AUDIT_RUN = "registry.link_run"
AUDIT_QUEUED = "registry.link_queued"


def record_id(pk: int) -> str:
    return f"r{pk}"


def row_pk(rid: str) -> int:
    return int(rid[1:])


# -- the queue ------------------------------------------------------------------------------


def queue_run(user, token=None) -> tuple[LinkRun, bool]:
    """Ask the worker for a run ("run now"); (the queued run, whether this call queued it).

    A run already waiting is answered instead of a second one, so a double click is one run.
    """
    can_link(user, token)
    with transaction.atomic():
        waiting = LinkRun.objects.select_for_update().filter(status=QUEUED).first()
        if waiting is not None:
            return waiting, False
        run = LinkRun.objects.create(status=QUEUED, started_by=user)
        record(AUDIT_QUEUED, run, detail={"nightly": False})
    return run, True


def claim(run_id: int | None = None) -> LinkRun | None:
    """Move the oldest queued run (or ``run_id``) to running, unless one is running."""
    now = timezone.now()
    with transaction.atomic():
        live = list(LinkRun.objects.select_for_update().filter(status__in=LIVE).order_by("pk"))
        for run in live:
            if run.status != RUNNING:
                continue
            if run.started_at >= now - STALE_AFTER:
                return None
            run.status, run.finished_at = FAILED, now
            run.error = "the worker running it stopped"
            run.save(update_fields=["status", "finished_at", "error"])
        waiting = [r for r in live if r.status == QUEUED and run_id in (None, r.pk)]
        if not waiting:
            return None
        run = waiting[0]
        run.status, run.started_at, run.timings = RUNNING, now, {"step": "loading"}
        run.save(update_fields=["status", "started_at", "timings"])
        return run


def queue_nightly(now: datetime.datetime | None = None) -> int:
    """Queue the nightly run once a day after ``REGISTRY_LINK_NIGHTLY_HOUR`` (local; default
    2 o'clock, None switches it off) when there are rows to link. Returns 1 when queued."""
    hour = getattr(settings, "REGISTRY_LINK_NIGHTLY_HOUR", 2)
    if hour is None:
        return 0
    local = timezone.localtime(now or timezone.now())
    slot = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if local < slot:
        slot -= datetime.timedelta(days=1)
    with transaction.atomic():
        if LinkRun.objects.select_for_update().filter(
                Q(started_at__gte=slot) | Q(status__in=LIVE)).exists():
            return 0
        if not _person_rows().exists():
            return 0
        run = LinkRun.objects.create(status=QUEUED)
        record(AUDIT_QUEUED, run, detail={"nightly": True})
    return 1


def run_due() -> int:
    """The worker's job: queue the nightly run when due, then run a queued one (1 if run)."""
    queue_nightly()
    run = claim()
    if run is None:
        return 0
    execute(run)
    return 1


def run_linkage(user=None, token=None) -> LinkRun:
    """Run linkage now, in this process (``wangge registry_link``, tests); ``user`` None is
    the system. Refused (409) while another run is running."""
    if user is not None:
        can_link(user, token)
    with transaction.atomic():
        run = LinkRun.objects.create(status=QUEUED, started_by=user)
    claimed = claim(run.pk)
    if claimed is None:
        LinkRun.objects.filter(pk=run.pk, status=QUEUED).delete()
        raise LinkingError("another linkage run is running; try again when it has finished",
                           status=409)
    return execute(claimed)


# -- one run --------------------------------------------------------------------------------


@dataclass
class _Applied:
    persons: int = 0
    created: int = 0
    moved: int = 0
    removed: int = 0
    kept: list[dict] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)


def _person_rows():
    """Rows linkage reads: person datasets, with values, not of an anonymised person."""
    return (SourceRecord.objects.filter(dataset__entity=Entity.PERSON)
            .exclude(payload_cipher="")
            .filter(Q(person__isnull=True) | Q(person__status=PersonStatus.ACTIVE)))


def _load() -> pa.Table:
    """The rows as the engine's standard fields, opened in memory only."""
    columns: dict[str, list] = {f: [] for f in ("record_id", "source", *ENGINE_FIELDS)}
    rows = (_person_rows().select_related("dataset").order_by("pk")
            .only("pk", "payload_cipher", "dataset__code"))
    for row in rows.iterator(chunk_size=CHUNK):
        values = records.open_values(row)
        columns["record_id"].append(record_id(row.pk))
        columns["source"].append(row.dataset.code)
        for name in ENGINE_FIELDS:
            columns[name].append(values.get(name) or None)
    return pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})


def active_decisions(known: set[str] | None = None) -> list[engine_decisions.Decision]:
    """Decisions not revoked, oldest first (the last word on a pair wins), as the engine
    takes them; with ``known``, only those whose two rows are among them."""
    out = []
    for a, b, verdict in (LinkDecision.objects.filter(revoked_at__isnull=True)
                          .order_by("decided_at", "pk")
                          .values_list("record_a_id", "record_b_id", "verdict")):
        ra, rb = record_id(a), record_id(b)
        if known is not None and (ra not in known or rb not in known):
            continue
        out.append(engine_decisions.Decision(ra, rb, VERDICTS[verdict]))
    return out


def _step(run: LinkRun, step: str, **timings) -> None:
    run.timings = {**run.timings, **timings, "step": step}
    LinkRun.objects.filter(pk=run.pk).update(timings=run.timings)


def execute(run: LinkRun) -> LinkRun:
    """Carry out a claimed run; marks it done (or failed, then raises)."""
    start = time.perf_counter()
    try:
        table = _load()
        known = set(table.column("record_id").to_pylist())
        _step(run, "linking", load=round(time.perf_counter() - start, 3))
        used = active_decisions(known)
        result = link(table, decisions=used) if table.num_rows else None
        _step(run, "applying", engine=result.timings if result else {})
        t = time.perf_counter()
        applied = _apply(run, result, used, known)
        _step(run, "refreshing", apply=round(time.perf_counter() - t, 3))
        t = time.perf_counter()
        _refresh(applied)
        _step(run, "review", refresh=round(time.perf_counter() - t, 3))
        t = time.perf_counter()
        review = _sync_review(result)
        run.timings = {**run.timings, "review": round(time.perf_counter() - t, 3),
                       "total": round(time.perf_counter() - start, 3), "step": "done",
                       "kept": applied.kept,
                       "review_truncated": result.review_truncated if result else 0}
    except Exception as exc:
        log.exception("linkage run %s failed", run.pk)
        _finish(run, FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    run.records = table.num_rows
    run.persons, run.created_persons, run.review = applied.persons, applied.created, review
    run.conflicts = Person.objects.filter(has_conflicts=True,
                                          status=PersonStatus.ACTIVE).count()
    _finish(run, DONE, moved=applied.moved, removed=applied.removed, kept=len(applied.kept))
    return run


def _finish(run: LinkRun, status: str, error: str = "", **extra) -> None:
    run.status, run.error, run.finished_at = status, error, timezone.now()
    with transaction.atomic():
        run.save()
        record(AUDIT_RUN, run, detail={
            "status": status, "records": run.records, "persons": run.persons,
            "created_persons": run.created_persons, "review": run.review,
            "conflicts": run.conflicts, **extra,
            "seconds": run.timings.get("total")})


# -- mapping clusters to persons ------------------------------------------------------------


def _clusters(result: LinkResult) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for rid, cid in zip(result.clusters.column("record_id").to_pylist(),
                        result.clusters.column("cluster_id").to_pylist(), strict=True):
        out[cid].append(row_pk(rid))
    return out


def _current(known: set[str]) -> dict[int, tuple[int | None, int | None]]:
    """Row pk → (person, region) as stored now, for the run's rows still eligible.

    Rows still without a person are locked first: the ID attach skips them then, and rows it
    attached meanwhile are read with their person.
    """
    list(SourceRecord.objects.filter(person__isnull=True, dataset__entity=Entity.PERSON)
         .select_for_update(of=("self",)).values_list("pk", flat=True))
    now = {}
    for pk, person_id, region_id in _person_rows().values_list(
            "pk", "person_id", "region_id").iterator(chunk_size=CHUNK):
        if record_id(pk) in known:
            now[pk] = (person_id, region_id)
    return now


def assign(clusters: dict[str, list[int]], person_of: dict[int, int | None]) -> dict[str, int]:
    """Cluster → the existing person it keeps: the largest overlaps first, each person to
    one cluster (ties: the older person). Clusters left out get new persons."""
    overlap = Counter((cid, person_of[pk]) for cid, pks in clusters.items() for pk in pks
                      if person_of.get(pk) is not None)
    kept: dict[str, int] = {}
    taken: set[int] = set()
    for (cid, person_id), _n in sorted(overlap.items(), key=lambda kv: (-kv[1], kv[0][1],
                                                                        kv[0][0])):
        if cid not in kept and person_id not in taken:
            kept[cid] = person_id
            taken.add(person_id)
    return kept


def _apply(run: LinkRun, result: LinkResult | None, used: list, known: set[str]) -> _Applied:
    applied = _Applied()
    if result is None:
        return applied
    with transaction.atomic():
        LinkRun.objects.select_for_update().get(pk=run.pk)  # merges and splits wait here
        latest = active_decisions(known)
        if latest != used:  # a steward decided while the engine ran: honour it
            result = recluster(result, latest)
        current = _current(known)
        clusters = {cid: [pk for pk in pks if pk in current]
                    for cid, pks in _clusters(result).items()}
        clusters = {cid: pks for cid, pks in clusters.items() if pks}
        person_of = {pk: person for pk, (person, _region) in current.items()}
        kept = assign(clusters, person_of)
        moves: dict[int, list[int]] = defaultdict(list)
        for cid, pks in sorted(clusters.items()):
            target = kept.get(cid)
            if target is None:
                target = persons.new_person(current[pks[0]][1]).pk
                applied.created += 1
            for pk in pks:
                old = person_of[pk]
                if old != target:
                    moves[target].append(pk)
                    applied.touched.add(target)
                    if old is not None:
                        applied.touched.add(old)
        for target, pks in moves.items():
            for i in range(0, len(pks), CHUNK):
                SourceRecord.objects.filter(pk__in=pks[i:i + CHUNK]).update(person_id=target)
            applied.moved += len(pks)
        applied.persons = len(clusters)
    return applied


def _refresh(applied: _Applied) -> None:
    """Survivorship for the persons whose rows changed; remove those left empty."""
    for pk in sorted(applied.touched):
        with transaction.atomic():
            empty = persons.refresh([pk])
            if not empty:
                continue
            removed, because = persons.remove_if_empty(pk)
            if removed:
                applied.removed += 1
            elif because:
                applied.kept.append({"person": pk, "because": because})


# -- the review queue -----------------------------------------------------------------------


def _sync_review(result: LinkResult | None) -> int:
    """Upsert the proposed pairs (open), mark pairs no longer proposed stale; decided items
    stay. Returns the open queue's size."""
    proposed = {}
    for pair in (result.review if result else []):
        a, b = sorted((row_pk(pair.record_a), row_pk(pair.record_b)))
        proposed[(a, b)] = pair
    with transaction.atomic():
        existing = {(a, b): (pk, status) for pk, a, b, status in
                    ReviewItem.objects.values_list("pk", "record_a_id", "record_b_id",
                                                   "status")}
        new, update = [], []
        for (a, b), pair in proposed.items():
            found = existing.get((a, b))
            fields = {"probability": pair.probability, "agreement": pair.agreement,
                      "held_back": pair.held_back[:200]}
            if found is None:
                new.append(ReviewItem(record_a_id=a, record_b_id=b, **fields))
            elif found[1] != ReviewStatus.DECIDED:
                update.append(ReviewItem(pk=found[0], status=ReviewStatus.OPEN, **fields))
        ReviewItem.objects.bulk_create(new, batch_size=CHUNK, ignore_conflicts=True)
        ReviewItem.objects.bulk_update(update, ["probability", "agreement", "held_back",
                                                "status"], batch_size=CHUNK)
        gone = [pk for pair, (pk, status) in existing.items()
                if status == ReviewStatus.OPEN and pair not in proposed]
        for i in range(0, len(gone), CHUNK):
            ReviewItem.objects.filter(pk__in=gone[i:i + CHUNK]).update(
                status=ReviewStatus.STALE)
    return ReviewItem.objects.filter(status=ReviewStatus.OPEN).count()
