"""``wangge escalate [--loop SECONDS]``: escalate overdue cases once, or keep doing it."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection

from wangge.audit.context import Actor, acting_as
from wangge.cases import escalation

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


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
        stop = threading.Event()
        previous = {}
        if loop is not None:
            # SIGTERM (systemd, docker stop) or Ctrl-C ends the loop between passes, never
            # in the middle of a batch.
            previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in STOP_SIGNALS}
        try:
            with acting_as(Actor.system("escalate")):
                while True:
                    count = escalation.escalate_overdue(batch=batch)
                    self.stdout.write(f"escalated {count} case(s)")
                    self.stdout.flush()
                    if loop is None or stop.wait(loop):
                        return
                    # A worker lives for weeks: don't keep a connection the server dropped.
                    # (Not when called inside a transaction, e.g. from a test or a script:
                    # that would close the caller's connection under it.)
                    if not connection.in_atomic_block:
                        close_old_connections()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
