"""``wangge registry_link [--attach-only]``: link the registry's source rows into persons now.

First gives every new row a person by its ID number (``linking.attach``), then runs the
linkage model over every person row and maps its clusters onto persons
(``linking.runs.run_linkage``), printing counts only — never a value. Refused while another
run is running (the worker's, or a second command). The worker does the same: job
``registry.attach`` every 30 seconds, job ``registry.link`` for runs stewards queue and the
nightly run.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from wangge.audit.context import Actor, acting_as
from wangge.registry.linking.attach import BATCH, attach_unlinked
from wangge.registry.linking.errors import LinkingError
from wangge.registry.linking.runs import run_linkage


class Command(BaseCommand):
    help = ("Attach new registry rows to persons by ID number, then run record linkage over "
            "every person row (one run at a time).")

    def add_arguments(self, parser):
        parser.add_argument("--attach-only", action="store_true",
                            help="only attach new rows by ID number; no linkage run")
        parser.add_argument("--batch", type=int, default=BATCH,
                            help=f"rows per transaction when attaching (default {BATCH})")

    def handle(self, *args, attach_only=False, batch=BATCH, **options):
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        with acting_as(Actor.system("registry_link")):
            attached = attach_unlinked(batch=batch)
            self.stdout.write(f"attached {attached} new row(s) by ID number")
            if attach_only:
                return
            try:
                run = run_linkage()
            except LinkingError as exc:
                raise CommandError(exc.message) from None
        kept = len(run.timings.get("kept", []))
        self.stdout.write(
            f"linkage run #{run.pk}: {run.records} row(s) → {run.persons} person(s) "
            f"({run.created_persons} new), {run.review} pair(s) to review, "
            f"{run.conflicts} person(s) with conflicts, {kept} emptied person(s) kept; "
            f"{run.timings.get('total', 0)} s")
