"""Briefings — 工作简报: generate them (on schedule or on demand), list and read them within
the reader's scope, export them as XLSX. The only code that writes briefings.

Who reads: "briefings.view" (administrators, command centres, street and community staff), the
briefings of nodes in their own subtree only — a node outside it answers 404 like a missing
one. Department handlers have no briefings: theirs is the department's work, which the
figures pages show (``figures.service`` filters it for them); a node's briefing is about the
whole node.

Which nodes: every node from the street (街道/乡镇) up — streets, districts, cities, the
province if the deployment has one. Communities and grids are read on the figures pages.

The content is computed by the system (all of the node's figures, whoever reads later) and
holds no personal data: counts, names of areas and categories, and for overdue cases only
their number, title, grid and days overdue. Rows naming cases are filtered again for each
reader (``Section.restrict``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from wangge.accounts.permissions import require_permission
from wangge.accounts.scope import get_visible_or_404, visible_to
from wangge.audit.services import record
from wangge.figures.service import node_summary, top_category_filter
from wangge.regions.models import Level, Region

from .models import Briefing, Kind
from .periods import due_periods, period_containing, previous_period
from .sections import SECTIONS, Context

log = logging.getLogger(__name__)

LOWEST_LEVEL = Level.TOWNSHIP  # briefings for streets and every node above them
PER_PASS = 20  # briefings one worker pass generates at most (the rest wait for the next)
CONTENT_VERSION = 1


def read_figures(code: str, first: date, last: date, *, category: str = "") -> dict:
    """A node's figures as the platform reads them (no reader's scope: a briefing is built
    once for the node and filtered per reader when shown), optionally for one top-level
    category."""
    node = Region.objects.get(code=code)
    return node_summary(node, first, last,
                        top_category_filter(category) if category else None)


def eligible_nodes() -> QuerySet[Region]:
    return Region.objects.filter(level__lte=LOWEST_LEVEL)


def _parse_kind(kind: str) -> str:
    if kind not in Kind.values:
        raise ValidationError({"kind": f"{kind!r} is not one of {', '.join(Kind.values)}"})
    return kind


def build_content(node: Region, kind: str, start: date, end: date,
                  now: datetime | None = None) -> dict:
    """The snapshot: every section's rows for the node and period, as the system sees now."""
    now = now or timezone.now()
    read = read_figures
    prev = previous_period(kind, start)
    ctx = Context(node=node, start=start, end=end, previous=prev, now=now, summary=read)
    ctx.current = read(node.code, start, end)
    ctx.before = read(node.code, *prev)
    return {
        "version": CONTENT_VERSION,
        "node": {"code": node.code, "name": node.name, "level": node.level},
        "kind": kind,
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "previous": {"start": prev[0].isoformat(), "end": prev[1].isoformat()},
        "generated_at": now.isoformat(),
        "sections": {s.key: s.build(ctx) for s in SECTIONS},
    }


def generate(node: Region, kind: str, day: date, *, replace: bool = False,
             now: datetime | None = None) -> tuple[Briefing, bool]:
    """The briefing of ``node`` for the period of ``kind`` containing ``day``; generated
    unless it exists (``replace`` builds it again). Returns (briefing, generated?).

    Safe with several workers: the unique (node, kind, period) constraint lets one insert
    win; the loser reads the winner's row."""
    _parse_kind(kind)
    if node.level > LOWEST_LEVEL:
        raise ValidationError({"node": f"{node.code} is below the street level; briefings "
                                       "start at streets"})
    start, end = period_containing(kind, day)
    existing = Briefing.objects.filter(node=node, kind=kind, period_start=start).first()
    if existing is not None and not replace:
        return existing, False
    now = now or timezone.now()
    content = build_content(node, kind, start, end, now)
    try:
        with transaction.atomic():
            if existing is not None:
                existing.content, existing.generated_at = content, now
                existing.save(update_fields=["content", "generated_at"])
                briefing = existing
            else:
                briefing = Briefing.objects.create(
                    node=node, node_path=node.path, kind=kind, period_start=start,
                    period_end=end, generated_at=now, content=content)
            record("briefings.generate", briefing, detail={
                "node": node.code, "kind": kind, "start": start.isoformat(),
                "replaced": existing is not None})
    except IntegrityError:  # another worker generated it a moment ago
        return Briefing.objects.get(node=node, kind=kind, period_start=start), False
    return briefing, True


def generate_due(now: datetime | None = None, limit: int = PER_PASS) -> int:
    """Generate up to ``limit`` briefings that are due and missing; return how many.

    When nothing is due this is one query per kind (the nodes lacking the latest period's
    briefing)."""
    done = 0
    for kind, start, _end in due_periods(now):
        have = Briefing.objects.filter(kind=kind, period_start=start).values("node_id")
        for node in eligible_nodes().exclude(pk__in=have).order_by("level", "code"):
            if done >= limit:
                return done
            _, made = generate(node, kind, start)
            done += made
    return done


def backfill(node: Region, kind: str, periods: list[tuple[date, date]], *,
             replace: bool = False) -> int:
    return sum(generate(node, kind, start, replace=replace)[1] for start, _ in periods)


# --- reading ---------------------------------------------------------------------------------

def list_briefings(user, *, kind: str = "", node: str = "", token=None) -> QuerySet[Briefing]:
    """The briefings the reader may see, newest first; ``node`` (a code in her subtree) and
    ``kind`` narrow it."""
    require_permission(user, "briefings.view", token)
    qs = visible_to(Briefing, user).select_related("node")
    if kind:
        qs = qs.filter(kind=_parse_kind(kind))
    if node:
        found = visible_to(Region, user).filter(code=node).first()
        if found is None:
            raise ValidationError({"node": f"no node {node!r} in your area"})
        qs = qs.filter(node=found)
    return qs


def get_briefing(user, pk: int, token=None) -> Briefing:
    """One briefing in the reader's scope (404 otherwise, exactly like a missing one)."""
    require_permission(user, "briefings.view", token)
    return get_visible_or_404(Briefing.objects.select_related("node"), user, pk=pk)


@dataclass(frozen=True)
class ReaderSection:
    key: str
    rows: list[dict]


def sections_for(user, briefing: Briefing) -> list[ReaderSection]:
    """The briefing's sections as this reader may see them: declared order, rows naming
    cases limited to the cases she may open. A section added after the briefing was
    generated is not in its snapshot and is left out."""
    stored = briefing.content.get("sections", {})
    out = []
    for section in SECTIONS:
        if section.key not in stored:
            continue
        rows = stored[section.key]
        if section.restrict is not None:
            rows = section.restrict(rows, user)
        out.append(ReaderSection(section.key, rows))
    return out


def as_json(user, briefing: Briefing) -> dict:
    content = briefing.content
    return {"id": briefing.pk, "node": content["node"], "kind": briefing.kind,
            "period": content["period"], "previous": content["previous"],
            "generated_at": content["generated_at"],
            "sections": {s.key: s.rows for s in sections_for(user, briefing)}}


def export_xlsx(user, pk: int, token=None) -> tuple[Briefing, bytes]:
    """The briefing as an XLSX workbook, built now from the snapshot for this reader; the
    download is written to the audit trail."""
    from .xlsx import workbook_bytes

    briefing = get_briefing(user, pk, token)
    data = workbook_bytes(briefing, sections_for(user, briefing))
    with transaction.atomic():
        record("briefings.export", briefing, detail={
            "format": "xlsx", "node": briefing.node.code, "kind": briefing.kind,
            "start": briefing.period_start.isoformat()})
    return briefing, data


def file_name(briefing: Briefing, suffix: str) -> str:
    return (f"briefing-{briefing.node.code}-{briefing.kind}-"
            f"{briefing.period_start.isoformat()}.{suffix}")
