"""Worker lanes: the long jobs can run in a process of their own."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from wangge.core.jobs import JOBS, LANES, LONG, QUICK, jobs_of


def _ran(out: str) -> set[str]:
    return {line.split(":", 1)[0] for line in out.splitlines() if ":" in line}


def test_the_lanes_split_the_jobs():
    assert {job.lane for job in JOBS} <= set(LANES)
    assert set(jobs_of(QUICK)) | set(jobs_of(LONG)) == set(JOBS)
    assert not set(jobs_of(QUICK)) & set(jobs_of(LONG))
    assert jobs_of(None) == JOBS
    long_names = {job.name for job in jobs_of(LONG)}
    assert {"registry.link", "registry.imports", "gridwork.launch"} <= long_names
    assert {"figures.fold", "cases.escalate"} <= {job.name for job in jobs_of(QUICK)}
    with pytest.raises(ValueError, match="unknown lane"):
        jobs_of("slow")


@pytest.mark.django_db
def test_a_worker_on_one_lane_runs_only_that_lanes_jobs(tree):
    quick, long = StringIO(), StringIO()
    call_command("worker", "--once", "--lane", "quick", stdout=quick)
    call_command("worker", "--once", "--lane", "long", stdout=long)
    assert _ran(quick.getvalue()) == {job.name for job in jobs_of(QUICK)}
    assert _ran(long.getvalue()) == {job.name for job in jobs_of(LONG)}
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("worker", "--once", "--lane", "slow")
