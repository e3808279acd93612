"""``wangge figures fold [--loop S] | check | rebuild``: keep, verify and rebuild the tallies."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from wangge.audit.context import Actor, acting_as
from wangge.audit.services import record
from wangge.core.loop import repeat
from wangge.figures import fold, recount


class Command(BaseCommand):
    help = ("Figures: fold the journal into the tallies (as a worker with --loop), check the "
            "tallies against a recount from raw case rows, or rebuild them from one.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        p = sub.add_parser("fold", help="fold the journal into the tallies")
        p.add_argument("--loop", type=float, metavar="SECONDS", default=None,
                       help="run as a background worker: a pass every SECONDS")
        p.add_argument("--batch", type=int, default=5000)
        sub.add_parser("check", help="recount from raw rows and report any difference")
        sub.add_parser("rebuild", help="replace the tallies with a recount")

    def handle(self, *args, what, **o):
        getattr(self, f"_{what}")(**o)

    def _fold(self, loop=None, batch=5000, **_):
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        if loop is not None and loop <= 0:
            raise CommandError("--loop needs a positive number of seconds")

        def one_pass() -> None:
            n = fold.fold_all(batch)
            if n or loop is None:
                self.stdout.write(f"folded {n} change(s)")
                self.stdout.flush()

        repeat(one_pass, loop)

    def _check(self, **_):
        report = recount.check()
        if not report.ok:
            raise CommandError("the tallies differ from a recount of the raw rows:\n  "
                               + "\n  ".join(report.differences)
                               + "\nrun `wangge figures rebuild` to replace them")
        self.stdout.write(self.style.SUCCESS(
            f"figures agree with the raw rows: {report.flow_cells:,} flow cells, "
            f"{report.stock_cells:,} stock cells"))

    def _rebuild(self, **_):
        with acting_as(Actor.system("figures")):
            flows, stock = recount.rebuild()
            record("figures.rebuild", object_type="figures", object_id="all",
                   detail={"flow_cells": flows, "stock_cells": stock})
        self.stdout.write(self.style.SUCCESS(
            f"rebuilt the figures: {flows:,} flow cells, {stock:,} stock cells"))
