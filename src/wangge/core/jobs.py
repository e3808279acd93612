"""Background jobs — 后台任务, declared once: what runs, how often, as whom.

``wangge worker`` runs them all in one process; each job is also a command of its own
(``wangge escalate``, ``wangge figures fold``) for operators who schedule them apart. Every job
is safe to run in several workers at once.

Each job has a lane. A ``long`` job can run for minutes on a big city (a million-row
linkage, a department's import, a 500,000-target launch); while it runs, a single worker
folds no figures and escalates no case. ``wangge worker --lane quick`` and ``--lane long``
in two processes keep the quick jobs on their seconds-long schedules whatever the long ones
are doing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

QUICK, LONG = "quick", "long"
LANES = (QUICK, LONG)


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: Callable[[], int]  # returns how much it did
    lane: str = QUICK


def _fold() -> int:
    from wangge.figures.fold import fold_all

    return fold_all()


def _escalate() -> int:
    from wangge.cases.escalation import escalate_overdue

    return escalate_overdue()


def _sweep_photos() -> int:
    from wangge.cases.services.photos import sweep_orphan_files

    return sweep_orphan_files()


def _retention() -> int:
    from wangge.registry.retention import run_retention

    return run_retention()


def _registry_imports() -> int:
    from wangge.registry.imports.service import run_queued

    return run_queued()


def _registry_attach() -> int:
    from wangge.registry.linking.attach import attach_unlinked

    return attach_unlinked()


def _registry_link() -> int:
    from wangge.registry.linking.runs import run_due

    return run_due()


def _briefings() -> int:
    from wangge.briefings.service import generate_due

    return generate_due()


def _gridwork_launch() -> int:
    from wangge.gridwork.tasks.launch import run_launching

    return run_launching()


def _gridwork_rounds() -> int:
    from wangge.gridwork.tasks.launch import run_rounds

    return run_rounds()


def _gridwork_remind() -> int:
    from wangge.gridwork.tasks.reminders import remind_due

    return remind_due()


JOBS: tuple[Job, ...] = (
    Job("figures.fold", 5.0, _fold),  # figures stay current within seconds
    Job("cases.escalate", 60.0, _escalate),  # deadlines are in working hours: a minute is fine
    # Photo files whose transaction rolled back (their rows never committed).
    Job("cases.sweep_photos", 3600.0, _sweep_photos),
    # Due briefings, a few per pass (one query per kind when none is due); unique per period.
    Job("briefings.generate", 30.0, _briefings),
    # Department imports too long for a request (one queued run per pass, claimed atomically).
    Job("registry.imports", 2.0, _registry_imports, LONG),
    # Registry rows past their dataset's retention (one small query per dataset when none).
    Job("registry.retention", 86400.0, _retention, LONG),
    # New registry rows get a person at once by ID number (batched, safe in parallel).
    Job("registry.attach", 30.0, _registry_attach),
    # Linkage runs a steward queued ("run now"), and the nightly one; one at a time.
    Job("registry.link", 30.0, _registry_link, LONG),
    # Tasks too big to launch in a request: targets built a street per transaction.
    Job("gridwork.launch", 2.0, _gridwork_launch, LONG),
    # A recurring inspection's new period starts within the hour (idempotent per period).
    Job("gridwork.rounds", 3600.0, _gridwork_rounds),
    # Deadline reminders, at most once a day per task × worker × period, working days only.
    Job("gridwork.remind", 3600.0, _gridwork_remind),
)


def jobs_of(lane: str | None) -> tuple[Job, ...]:
    """The jobs of one lane, or every job (``None``)."""
    if lane is not None and lane not in LANES:
        raise ValueError(f"unknown lane {lane!r}; lanes are {', '.join(LANES)}")
    return tuple(job for job in JOBS if lane is None or job.lane == lane)
