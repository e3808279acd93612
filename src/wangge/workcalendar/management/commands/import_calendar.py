"""``wangge import-calendar FILE``: enter a year's holidays and 调休 days from CSV or XLSX."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from wangge.audit.context import Actor, acting_as
from wangge.workcalendar.importer import import_schedule
from wangge.workcalendar.services import calendar_status


class Command(BaseCommand):
    help = (
        "Load day overrides (columns date, is_workday, name, note) for a year the calendar "
        "library does not know yet, or to correct it. Checks every row first; writes all or "
        "nothing; a second run changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .csv (UTF-8 or GB18030) or .xlsx file")
        parser.add_argument("--replace-years", action="store_true",
                            help="remove overrides of the file's years that it does not list")
        parser.add_argument("--dry-run", action="store_true",
                            help="check and count, write nothing")

    def handle(self, *args, **options):
        try:
            with acting_as(Actor.system("import-calendar")):
                report = import_schedule(options["file"], replace_years=options["replace_years"],
                                         dry_run=options["dry_run"])
        except OSError as exc:
            raise CommandError(f"cannot read {options['file']}: {exc}") from exc
        if not report.ok:
            for line in report.errors:
                self.stderr.write(line)
            raise CommandError(report.summary())
        self.stdout.write(self.style.SUCCESS(report.summary()))
        for year in report.years:
            self.stdout.write(calendar_status(year).message)
