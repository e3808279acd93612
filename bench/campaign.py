"""Benchmark: a campaign (拉网式排查) over 500,000 households of the L city, and its progress page.

    .venv/bin/python bench/campaign.py [--households 500000] [--size L] [--db postgres|sqlite]
                                       [--complete 3000] [--requests 200] [--keep] [--reuse]

1. A fresh database (PostgreSQL ``wangge_bench_campaign`` on 127.0.0.1:5432, dropped and
   created; or a SQLite file), ``migrate`` and ``demo --size L --history 0`` (29,825 grids, a
   grid worker in each, a handler per department and district).
2. Households: the showcase district (历下区) gets ``--households`` households in all, the
   demo registry's own plus generated ones spread over its grids by their household counts
   (a multinomial draw, fixed seed), written by COPY (PostgreSQL) or batched INSERTs.
3. 民政局 applies for a grid matter and the district's command centre admits it.
4. Timed: ``create_task`` + ``launch`` of a campaign over every household of the district,
   built synchronously (one INSERT … SELECT, then the tallies) => ``create_seconds``.
   Checked: as many targets as households, the district's tally equal to it.
5. ``--complete`` targets completed through ``complete_target`` by their grid workers (done
   or could not be done), so progress is not all zero; ms per completion reported.
6. Timed: ``--requests`` GETs of the progress page at a random street of the district
   (``/gridwork/tasks/<id>/progress/?node=<street>``, Django's test client in process, signed
   in as the district's command centre), after 20 warm-up GETs => ``progress_p95_ms``.

``--reuse`` (PostgreSQL) keeps the last run's city and households and only drops its tasks:
for trying a change to the build without waiting for the city again.

Targets (issue 6): create < 30 s, progress p95 < 200 ms. Human lines go to stderr; the last
line on stdout is one JSON object with ``targets``, ``create_seconds``, ``progress_p95_ms``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, date
from pathlib import Path

import numpy as np
from _django import bulk_insert, command, say, setup  # the bench helpers beside this file

PG_DATABASE = "wangge_bench_campaign"
DISTRICT = "370102"  # the demo's showcase district, 历下区
CHUNK = 100_000


def write_households(total: int, seed: int) -> tuple[int, int, float]:
    """Households of the district up to ``total``; returns (generated, grids, seconds)."""
    from django.db import connection
    from django.utils import timezone

    from wangge.regions.models import Level, Region
    from wangge.regions.tree import subtree_q
    from wangge.registry.models import Household

    started = time.perf_counter()
    district = Region.objects.get(code=DISTRICT)
    grids = list(Region.objects.filter(subtree_q(district.path), level=Level.GRID)
                 .order_by("code").values_list("pk", "path", "attributes"))
    have = Household.objects.filter(subtree_q(district.path, "region_path")).count()
    wanted = max(total - have, 0)
    weights = np.array([float((a or {}).get("households") or 300) for _, _, a in grids])
    per_grid = np.random.default_rng(seed).multinomial(wanted, weights / weights.sum())
    now = timezone.now()
    if connection.vendor == "sqlite":
        now = now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    columns = ["number", "region_id", "region_path", "created_at", "updated_at"]
    rows: list[tuple] = []
    n = 0
    for (pk, path, _attrs), count in zip(grids, per_grid.tolist(), strict=True):
        for _ in range(count):
            n += 1
            rows.append((f"B{n:07d}", pk, path, now, now))
            if len(rows) >= CHUNK:
                bulk_insert(Household._meta.db_table, columns, rows)
                rows = []
    if rows:
        bulk_insert(Household._meta.db_table, columns, rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return wanted, len(grids), time.perf_counter() - started


def forget_tasks() -> None:
    """``--reuse``: the city and households stay; earlier runs' tasks go."""
    from django.db import connection

    from wangge.gridwork.models import MatterItem, Reminder, Task, TaskTally, TaskTarget

    tables = [m._meta.db_table for m in (TaskTarget, TaskTally, Reminder, Task)]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
    MatterItem.objects.filter(name=ITEM_NAME).update(name=f"{ITEM_NAME}（旧）",
                                                     status="exited")


ITEM_NAME = "燃气安全入户排查"


def admit_item():
    from wangge.accounts.models import User
    from wangge.gridwork import service
    from wangge.gridwork.service import Application

    handler = User.objects.get(username="handler_mz")
    reviewer = User.objects.get(username="command_lixia")
    item = service.apply(handler, Application(
        name=ITEM_NAME, basis="《城镇燃气管理条例》第四十一条",
        duties="逐户查看燃气使用安全，登记实住人数", frequency="yearly",
        fields=("residents_present", "gas_safety_hazard")))
    service.decide(reviewer, item.pk, "admit", on=date(2026, 1, 1))
    return handler, reviewer, item


def create_and_launch(handler, item) -> tuple[object, float, float]:
    from django.utils import timezone

    from wangge.audit.context import Actor, acting_as
    from wangge.gridwork.tasks import service
    from wangge.regions.models import Region

    district = Region.objects.get(code=DISTRICT)
    today = timezone.localdate()
    with acting_as(Actor.for_user(handler)):
        t = time.perf_counter()
        task = service.create_task(
            handler, kind="campaign", title="燃气安全入户排查（全区）", matter_id=item.pk,
            region_id=district.pk, target_kind="household", starts_on=today,
            due_on=date.fromordinal(today.toordinal() + 30),
            fields=("residents_present", "gas_safety_hazard"))
        created = time.perf_counter() - t
        task = service.launch(handler, task.pk, inline=True)
        total = time.perf_counter() - t
    return task, total, created


def complete_some(task, count: int, seed: int) -> list[float]:
    from wangge.audit.context import Actor, acting_as
    from wangge.gridwork.models import TaskTarget
    from wangge.gridwork.tasks import service

    rng = random.Random(seed)
    ids = list(TaskTarget.objects.filter(task=task).values_list("pk", flat=True))
    picked = rng.sample(ids, min(count, len(ids)))
    targets = TaskTarget.objects.filter(pk__in=picked).select_related("assignee__region")
    timings = []
    for target in targets:
        user = target.assignee
        status = "done" if rng.random() < 0.85 else "unable"
        result = ({"residents_present": rng.randint(1, 6),
                   "gas_safety_hazard": rng.choice(["yes", "no", "no", "no"])}
                  if status == "done" else {})
        with acting_as(Actor.for_user(user)):
            t = time.perf_counter()
            service.complete_target(user, target.pk, status=status, result=result,
                                    note="" if status == "done" else "多次上门无人",
                                    idempotency_key=f"bench-{target.pk}")
            timings.append((time.perf_counter() - t) * 1000)
    return timings


def time_progress(task, reviewer, requests: int, seed: int) -> tuple[list[float], str]:
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from wangge.regions.models import Level, Region
    from wangge.regions.tree import subtree_q

    setup_test_environment()
    client = Client()
    client.force_login(reviewer)
    streets = list(Region.objects.filter(subtree_q(task.region_path), level=Level.TOWNSHIP)
                   .values_list("pk", flat=True))
    url = reverse("gridwork:tasks_progress", args=[task.pk])
    rng = random.Random(seed)
    timings = []
    for i in range(requests + 20):
        street = rng.choice(streets)
        t = time.perf_counter()
        response = client.get(url, {"node": street})
        elapsed = (time.perf_counter() - t) * 1000
        if response.status_code != 200:
            raise SystemExit(f"progress page answered {response.status_code}")
        if i >= 20:
            timings.append(elapsed)
    return timings, url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=500_000)
    parser.add_argument("--size", default="L")
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--complete", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--reuse", action="store_true",
                        help="PostgreSQL: keep the city and households of the last run")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="wangge-bench-campaign-"))
    (workdir / "var").mkdir()
    reuse = args.reuse and args.db == "postgres"
    setup(args.db, workdir, PG_DATABASE, reuse=reuse)
    t = time.perf_counter()
    if reuse:
        forget_tasks()
        generated, grids, households_s = write_households(args.households, seed=3)
    else:
        command("migrate", "--no-input", "-v", "0")
        say(command("demo", "--size", args.size, "--seed", "1", "--history", "0", "-v", "0")
            .splitlines()[0])
        say(f"city built ({time.perf_counter() - t:.0f} s)")
        generated, grids, households_s = write_households(args.households, seed=3)
        say(f"households: {generated:,} generated over {grids:,} grids "
            f"({households_s:.0f} s)")
    handler, reviewer, item = admit_item()

    from wangge.gridwork.models import TaskTally, TaskTarget
    from wangge.regions.models import Region
    from wangge.regions.tree import subtree_q
    from wangge.registry.models import Household

    task, create_s, draft_s = create_and_launch(handler, item)
    targets = TaskTarget.objects.filter(task=task).count()
    households = Household.objects.filter(
        subtree_q(Region.objects.get(code=DISTRICT).path, "region_path")).count()
    top = TaskTally.objects.get(task=task, region=task.region)
    tally_rows = TaskTally.objects.filter(task=task).count()
    consistent = targets == households == top.total == task.targets_total
    say(f"campaign: {targets:,} targets, {tally_rows:,} tally rows in {create_s:.2f} s "
        f"(draft {draft_s * 1000:.0f} ms) → {'ok' if consistent else 'MISMATCH'}")
    completions = complete_some(task, args.complete, seed=5)
    top.refresh_from_db()
    say(f"completed {len(completions):,}: p50 {np.percentile(completions, 50):.1f} ms, "
        f"p95 {np.percentile(completions, 95):.1f} ms; district done {top.done:,}, "
        f"unable {top.unable:,}")
    timings, url = time_progress(task, reviewer, args.requests, seed=11)
    p95 = float(np.percentile(timings, 95))
    say(f"progress page {url}?node=<street>: p50 {np.percentile(timings, 50):.1f} ms, "
        f"p95 {p95:.1f} ms, max {max(timings):.1f} ms over {len(timings)} GETs")
    if not args.keep:
        import shutil

        from django.db import connection

        connection.close()
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps({
        "targets": targets, "create_seconds": round(create_s, 2),
        "progress_p95_ms": round(p95, 1),
        "progress_p50_ms": round(float(np.percentile(timings, 50)), 1),
        "db": args.db, "households": households, "grids": grids,
        "tally_rows": tally_rows, "consistent": consistent,
        "completed": len(completions),
        "complete_p50_ms": round(float(np.percentile(completions, 50)), 1),
        "households_write_seconds": round(households_s, 1)}))
    return 0 if consistent and create_s < 30 and p95 < 200 else 1


if __name__ == "__main__":
    sys.exit(main())
