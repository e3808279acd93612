"""``wangge worker [--once]``: run every background job on its schedule (see core.jobs)."""

from __future__ import annotations

import logging
import signal
import threading
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from wangge.audit.context import Actor, acting_as
from wangge.core.jobs import JOBS

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Command(BaseCommand):
    help = "Run the background jobs (fold figures, escalate overdue cases) on their schedule."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run each job once and exit")

    def handle(self, *args, once=False, **options):
        stop = threading.Event()
        previous = {} if once else {
            sig: signal.signal(sig, lambda *_: stop.set()) for sig in STOP_SIGNALS}
        due = dict.fromkeys((job.name for job in JOBS), 0.0)
        try:
            while not stop.is_set():
                now = time.monotonic()
                for job in JOBS:
                    if due[job.name] > now:
                        continue
                    due[job.name] = now + job.every_seconds
                    try:
                        with acting_as(Actor.system(job.name)):
                            done = job.run()
                    except Exception:  # one failing job must not stop the others
                        log.exception("job %s failed; it runs again on schedule", job.name)
                        continue
                    if done or once:
                        self.stdout.write(f"{job.name}: {done}")
                        self.stdout.flush()
                if once:
                    return
                if not connection.in_atomic_block:
                    close_old_connections()
                stop.wait(max(0.5, min(due.values()) - time.monotonic()))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
