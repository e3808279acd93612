"""``wangge escalate [--loop SECONDS]``: escalate overdue cases once, or keep doing it."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from wangge.audit.context import Actor, acting_as
from wangge.cases import escalation
from wangge.core.loop import repeat


class Command(BaseCommand):
    help = ("Escalate open cases past their deadline one level up the tree and notify the "
            "people there. Safe to run in several processes at once.")

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=float, metavar="SECONDS", default=None,
                            help="run as a background worker: a pass every SECONDS")
        parser.add_argument("--batch", type=int, default=500,
                            help="cases per transaction (default 500)")

    def handle(self, *args, loop=None, batch=500, **options):
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        if loop is not None and loop <= 0:
            raise CommandError("--loop needs a positive number of seconds")

        def one_pass() -> None:
            count = escalation.escalate_overdue(batch=batch)
            self.stdout.write(f"escalated {count} case(s)")
            self.stdout.flush()

        with acting_as(Actor.system("escalate")):
            repeat(one_pass, loop)
