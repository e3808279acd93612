"""``wangge worker [--once] [--lane quick|long]``: run the background jobs on their schedule
(see core.jobs)."""

from __future__ import annotations

import logging
import time

from django.core.management.base import BaseCommand

from wangge.audit.context import Actor, acting_as
from wangge.core.jobs import LANES, jobs_of
from wangge.core.loop import repeat

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0  # how often the worker looks for a job that is due


class Command(BaseCommand):
    help = ("Run the background jobs declared in core/jobs.py (fold figures, escalate overdue "
            "cases, generate due briefings, sweep orphaned photo files) on their schedule.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run each job once and exit")
        parser.add_argument("--lane", choices=LANES,
                            help="only the jobs of this lane: run `--lane quick` and `--lane "
                                 "long` in two processes so a long linkage or import never "
                                 "holds up the figures and escalation (default: every job)")

    def handle(self, *args, once=False, lane=None, **options):
        jobs = jobs_of(lane)
        due = dict.fromkeys((job.name for job in jobs), 0.0)

        def run_due_jobs() -> None:
            now = time.monotonic()
            for job in jobs:
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

        repeat(run_due_jobs, None if once else TICK_SECONDS)
