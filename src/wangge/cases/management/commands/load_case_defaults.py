"""``wangge load-case-defaults``: the default categories and deadline rules, idempotently."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from wangge.audit.context import Actor, acting_as
from wangge.cases.data import load_case_defaults


class Command(BaseCommand):
    help = ("Load the default case categories (urban-management parts and events, resident "
            "requests) and deadline rules. Adds what is missing and refreshes category names; "
            "never deletes a category and never overwrites an edited deadline.")

    def handle(self, *args, **options):
        with acting_as(Actor.system("load-case-defaults")):
            report = load_case_defaults()
        self.stdout.write(self.style.SUCCESS(report.summary()))
