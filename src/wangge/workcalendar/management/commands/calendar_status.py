"""``wangge calendar-status [YEAR ...]``: which source decides each year's working days."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from wangge.workcalendar.services import calendar_status, working_day_hours


class Command(BaseCommand):
    help = ("Say for each year whether the official schedule is known, entered by "
            "administrators, or not published (weekends only). Default: this year and next.")

    def add_arguments(self, parser):
        parser.add_argument("years", nargs="*", type=int)

    def handle(self, *args, **options):
        this_year = timezone.localdate().year
        for year in options["years"] or [this_year, this_year + 1]:
            status = calendar_status(year)
            self.stdout.write(f"{year}\t{status.source}\t{status.message}")
        self.stdout.write(f"working day: {working_day_hours():g} h")
