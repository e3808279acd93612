"""``wangge import-divisions DIR``: load the statistical division codes, province to township."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from wangge.regions.importers.divisions import DEFAULT_SOURCE, DIVISION_FILES, import_divisions


class Command(BaseCommand):
    help = (
        "Load or refresh the national statistical division codes (统计用区划代码) from DIR, "
        f"which holds {', '.join(f.filename for f in DIVISION_FILES)}. Validates everything "
        "first; writes all or nothing; a second run changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="folder with the four CSV files")
        parser.add_argument("--source", default=DEFAULT_SOURCE,
                            help="tag stored on new nodes (default: %(default)s)")
        parser.add_argument("--dry-run", action="store_true",
                            help="validate and count, write nothing")

    def handle(self, *args, **options):
        started = time.perf_counter()
        report = import_divisions(options["directory"], source=options["source"],
                                  dry_run=options["dry_run"])
        seconds = time.perf_counter() - started
        if not report.ok:
            for line in report.error_lines():
                self.stderr.write(line)
            raise CommandError(report.summary())
        self.stdout.write(self.style.SUCCESS(f"{report.summary()} in {seconds:.1f} s"))
