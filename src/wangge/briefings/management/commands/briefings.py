"""``wangge briefings generate --kind daily|weekly|monthly [--node CODE] [--date D]
[--until D] [--replace]`` and ``wangge briefings due``: briefings on demand and backfills.

Without ``--node`` every node from the street up gets one. ``--date`` picks the period that
contains that day (default: the latest complete period); with ``--until`` every period from
``--date``'s to the last one ending by ``--until`` (a backfill). Existing briefings are kept
unless ``--replace``. ``due`` runs one pass of what the worker does (the latest periods)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from wangge.audit.context import Actor, acting_as
from wangge.briefings import service
from wangge.briefings.models import Kind
from wangge.briefings.periods import latest_complete, periods_between
from wangge.regions.models import Region


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Generate briefings (工作简报): on demand, as a backfill, or the due ones."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        g = sub.add_parser("generate", help="generate briefings for a node (or all) and "
                                            "period(s)")
        g.add_argument("--kind", required=True, choices=Kind.values)
        g.add_argument("--node", help="region code (default: every node from the street up)")
        g.add_argument("--date", help="a day in the period (default: the latest complete one)")
        g.add_argument("--until", help="backfill: every period up to this day")
        g.add_argument("--replace", action="store_true", help="build existing ones again")
        sub.add_parser("due", help="generate the briefings that are due (one worker pass, "
                                   "without the per-pass limit)")

    def handle(self, *args, what, **o):
        with acting_as(Actor.system("briefings")):
            getattr(self, f"_{what}")(**o)

    def _generate(self, kind, node=None, date=None, until=None, replace=False, **_):
        first = _day(date) if date else latest_complete(kind)[0]
        last = _day(until) if until else None
        if last is not None and last < first:
            raise CommandError("--until is before --date")
        periods = periods_between(kind, first, last) if last else [(first, first)]
        if node:
            nodes = list(Region.objects.filter(code=node))
            if not nodes:
                raise CommandError(f"no region node {node!r}")
        else:
            nodes = list(service.eligible_nodes().order_by("level", "code"))
        made = kept = 0
        for region in nodes:
            for start, _end in periods:
                try:
                    _, new = service.generate(region, kind, start, replace=replace)
                except ValidationError as exc:
                    raise CommandError("; ".join(
                        f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
                made += new
                kept += not new
        self.stdout.write(self.style.SUCCESS(
            f"{made} briefing(s) generated, {kept} already there"))

    def _due(self, **_):
        total = 0
        while n := service.generate_due():
            total += n
        self.stdout.write(f"{total} briefing(s) generated")
