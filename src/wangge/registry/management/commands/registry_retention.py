"""``wangge registry_retention [--dry-run] [--batch N]``: apply the datasets' retention now.

Deletes source rows older than their dataset's retention and anonymises the persons left
with no row (see ``registry.retention``); ``--dry-run`` counts what would go and writes
nothing. The worker runs the same pass daily (job ``registry.retention``).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from wangge.audit.context import Actor, acting_as
from wangge.registry.retention import BATCH_SIZE, apply_retention


class Command(BaseCommand):
    help = ("Delete registry source rows older than their dataset's retention and anonymise "
            "persons left with no row; --dry-run only counts.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true",
                            help="count what would be deleted and write nothing")
        parser.add_argument("--batch", type=int, default=BATCH_SIZE,
                            help=f"rows per transaction (default {BATCH_SIZE})")

    def handle(self, *args, dry_run=False, batch=BATCH_SIZE, **options):
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        with acting_as(Actor.system("registry_retention")):
            report = apply_retention(dry_run=dry_run, batch=batch)
        verb = "would delete" if dry_run else "deleted"
        anonymised = "would anonymise" if dry_run else "anonymised"
        for item in report.datasets:
            self.stdout.write(
                f"{item.code}: retention {item.retention_days} days (before "
                f"{item.cutoff:%Y-%m-%d %H:%M}): {verb} {item.rows} row(s), {anonymised} "
                f"{item.persons_anonymised} person(s), {item.persons_updated} person(s) keep "
                f"other rows")
        if not report.datasets:
            self.stdout.write("no dataset has rows past its retention")
        self.stdout.write(f"{'dry run: ' if dry_run else ''}{verb} {report.rows} row(s), "
                          f"{anonymised} {report.persons_anonymised} person(s)")
