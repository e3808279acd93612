"""Benchmark: cases filed through the HTTP API on the M demo city, against a raw INSERT loop.

    .venv/bin/python bench/intake.py --db sqlite|postgres [--cases N] [--clients C]
                                     [--workers 2] [--size M] [--seed 1] [--keep]

What it does, in order, all on this machine (loopback only):

1. A fresh database: an SQLite file in a new temporary directory, or the PostgreSQL database
   ``wangge_bench_intake`` on 127.0.0.1:5432 as user postgres, dropped and created anew.
   ``WANGGE_VAR_DIR`` points into the temporary directory too.
2. ``migrate``, ``demo --size M --seed 1`` (the demo city, ≈ 3,000 grids, with its routing
   rules: most categories routed to a district bureau, the rest left to the dispatcher's
   queue), ``load-case-defaults`` (categories and deadline rules; the demo loads them too,
   so this finds nothing to add) and ``issue-token sensor --scope cases:report``: the demo's
   machine client (物联感知平台) files the cases, as sensors do.
3. The raw INSERT loop — the yardstick the ratio is taken against: one client inserts N rows,
   one ``INSERT`` statement per row in autocommit (each its own transaction), through the
   database driver itself (the connection Django opened, so the same SQLite pragmas or the
   same PostgreSQL server settings), into a scratch table shaped like a case row (code,
   title, description, category, urgency, source, state, lon, lat, address, region,
   region path, created time, unique idempotency key; an index on the region path). It is
   what the database alone can do per row when every row commits; the table is dropped after.
4. ``--workers`` gunicorn worker processes (default 2) on a free loopback port, each with a
   persistent database connection (``WANGGE_DB_CONN_MAX_AGE``), warmed before timing.
5. N ``POST /api/v1/cases`` from C client threads, each with its own keep-alive HTTP
   connection (``http.client``; gunicorn's sync workers close after each answer, and the
   client reconnects): a random point inside a random grid of ``build_layout(size, seed)``,
   a random leaf category, a random urgency, a unique ``Idempotency-Key``. Every answer must
   be 201 and name the grid the point was drawn in; a request that fails at the connection
   is retried with the same key (that is what the key is for), at most twice.
   ``cases_per_s`` is N over the wall time from the first request to the last answer;
   ``p50_ms``/``p99_ms`` are per-case latencies as the client saw them.
   Before them, the stack floor: ``--floor-requests`` (default 2,000) of the same
   submissions, each naming a category that does not exist and carrying no idempotency
   key, so each is authenticated, parsed and refused (422) before intake touches the
   database. Its rate and CPU per request (``stack_floor``) are what the HTTP server,
   Django, the API layer and the client cost alone: a bound no intake on this stack beats.
6. The servers are stopped; then exactly N cases must exist, N ``report`` timeline lines and
   N ``cases.report`` audit records, and ``audit verify`` must find the hash chain intact.

``ratio`` = cases_per_s / raw_insert_per_s: the share of the bare database's one-row-per-commit
rate that full intake keeps (locate, route, deadline, numbering, timeline, audit chain, HTTP,
JSON, authentication). CPU milliseconds per case of the servers, the client and (PostgreSQL)
this database's backends are reported too, to say where the time goes, and so is
``cpu_bound_cases_per_s`` = CPUs × 1000 / (their sum): what the run's CPU cost per case would
allow if the machine did nothing else. Throughput on a shared machine depends on what else
runs (``load_average_before``, ``machine_busy_share``); CPU per case hardly does.

Targets (issue 3): ≥ 800 cases/s with p99 < 100 ms on PostgreSQL, ≥ 300 cases/s on SQLite.
``meets_target`` says whether this run met them; the exit status is 1 only when something is
wrong (a failed request, a missing or extra case, a misplaced case, a broken audit chain).
Human lines go to stderr; the last line on stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import http.client
import io
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _server  # the bench helpers beside this file

PG_DATABASE = "wangge_bench_intake"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
CASES_PATH = "/api/v1/cases"
TARGETS = {"postgres": {"cases_per_s": 800, "p99_ms": 100}, "sqlite": {"cases_per_s": 300}}
URGENCIES = ("normal", "normal", "normal", "normal", "urgent", "critical")


def say(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


# -- the database and the city -------------------------------------------------------------


def fresh_database(db: str, workdir: Path) -> str:
    """A new, empty database for this run; returns its DATABASE_URL."""
    if db == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DATABASE}")
    return f"{PG_SERVER}/{PG_DATABASE}"


def setup_django(database_url: str, var_dir: Path) -> None:
    # Static files are not collected for a benchmark; whitenoise would say so on every start.
    warnings.filterwarnings("ignore", message="No directory at")
    os.environ["DATABASE_URL"] = database_url
    os.environ["WANGGE_VAR_DIR"] = str(var_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "wangge.config.settings"
    import django

    django.setup()


def command(*args: str) -> str:
    """Run a ``wangge`` management command in this process; return what it printed."""
    from django.core.management import call_command

    out = io.StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def build_city(size: str, seed: int) -> dict:
    """migrate, demo, case defaults, routing rules, token; returns what the run needs."""
    timings = {}
    t = time.perf_counter()
    command("migrate", "--no-input", "-v", "0")
    timings["migrate_s"] = time.perf_counter() - t
    t = time.perf_counter()
    out = command("demo", "--size", size, "--seed", str(seed), "--history", "0", "-v", "0")
    timings["demo_s"] = time.perf_counter() - t
    say(out.splitlines()[0] if out else "demo: (no output)")
    from django.core.management import get_commands

    if "load_case_defaults" in get_commands():
        t = time.perf_counter()
        say(command("load_case_defaults").strip())
        timings["case_defaults_s"] = time.perf_counter() - t
    else:
        say("load-case-defaults does not exist yet: categories come from the migrations only")
    rules = routing_rules()
    say(f"routing rules: {rules}")
    out = command("issue_token", "sensor", "--name", "bench-intake", "--scope", "cases:report",
                  "--days", "1")
    token = out.strip().splitlines()[-1].strip()
    if not token.startswith("wg_"):
        raise RuntimeError(f"issue-token printed no token: {out!r}")
    return {"token": token, "routing_rules": rules, **timings}


def routing_rules() -> int:
    """Active routing rules: the demo city routes most categories in every district (the
    rest wait in the dispatcher's queue, as many real ones do)."""
    from wangge.cases.models import RoutingRule

    return RoutingRule.objects.filter(is_active=True).count()


# -- the yardstick: a raw single-row INSERT loop -------------------------------------------


RAW_TABLE = "bench_raw_case"


def raw_insert_rate(rows: int, seed: int) -> tuple[float, float, float | None]:
    """Rows per second of one client inserting ``rows`` rows one statement and one commit
    at a time (see the module docstring); returns (rows/s, seconds, PostgreSQL's CPU
    milliseconds per row — None on SQLite, which runs inside this process)."""
    from django.db import connection

    connection.ensure_connection()
    sqlite = connection.vendor == "sqlite"
    raw = connection.connection  # the driver's own connection, in autocommit
    backend = [] if sqlite else [raw.info.backend_pid]
    ph = "?" if sqlite else "%s"
    ts_type = "text" if sqlite else "timestamptz"
    id_col = ("integer primary key autoincrement" if sqlite
              else "bigint generated by default as identity primary key")
    cur = raw.cursor()
    cur.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
    cur.execute(f"""CREATE TABLE {RAW_TABLE} (
        id {id_col}, code varchar(20) NOT NULL UNIQUE, title varchar(200) NOT NULL,
        description text NOT NULL, category_id bigint NOT NULL, urgency varchar(10) NOT NULL,
        source varchar(12) NOT NULL, state varchar(20) NOT NULL, lon double precision,
        lat double precision, address varchar(300) NOT NULL, region_id bigint NOT NULL,
        region_path varchar(400) NOT NULL, created_at {ts_type} NOT NULL,
        idempotency_key varchar(120) UNIQUE)""")
    cur.execute(f"CREATE INDEX {RAW_TABLE}_path ON {RAW_TABLE} (region_path)")
    columns = ("code, title, description, category_id, urgency, source, state, lon, lat, "
               "address, region_id, region_path, created_at, idempotency_key")
    placeholders = ", ".join([ph] * 14)
    sql = f"INSERT INTO {RAW_TABLE} ({columns}) VALUES ({placeholders})"  # noqa: S608
    rng = np.random.default_rng(seed)
    lons = rng.uniform(116.8, 117.3, rows).tolist()
    lats = rng.uniform(36.5, 36.8, rows).tolist()
    run = uuid.uuid4().hex[:8]
    db_cpu0 = _server.cpu_seconds(backend)
    t = time.perf_counter()
    for i in range(rows):
        now = datetime.now(UTC)
        cur.execute(sql, (
            f"RAW{i:012d}", f"井盖缺失（传感器告警 #{i}）",
            "道路东侧人行道井盖缺失，存在安全隐患。",
            1 + i % 200, "normal", "sensor", "reported", lons[i], lats[i], "",
            1000 + i % 3000, f"37.3701.370102.370102004.370102004001.{370102004001001 + i % 50}.",
            now.isoformat() if sqlite else now, f"{run}:{i}"))
    elapsed = time.perf_counter() - t
    db_cpu_ms = None if sqlite else (_server.cpu_seconds(backend) - db_cpu0) / rows * 1000
    cur.execute(f"SELECT count(*) FROM {RAW_TABLE}")  # noqa: S608 -- a constant name
    (count,) = cur.fetchone()
    if count != rows:
        raise RuntimeError(f"raw insert loop: {count} rows in the table, expected {rows}")
    cur.execute(f"DROP TABLE {RAW_TABLE}")
    cur.close()
    connection.close()
    return rows / elapsed, elapsed, db_cpu_ms


# -- the cases to file -----------------------------------------------------------------------


@dataclass
class Planned:
    body: bytes
    key: str
    grid: str


def random_point_in(polygon, rng: np.random.Generator) -> tuple[float, float]:
    minx, miny, maxx, maxy = polygon.bounds
    for _ in range(200):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(polygon, x, y):
            return float(x), float(y)
    p = polygon.representative_point()
    return p.x, p.y


def plan_cases(n: int, size: str, seed: int, categories: list[dict]) -> list[Planned]:
    from wangge.demo.layout import build_layout

    layout = build_layout(size, seed)
    grids = layout.grids
    rng = np.random.default_rng(seed + 7)
    run = uuid.uuid4().hex[:12]
    planned = []
    for i in range(n):
        grid = grids[int(rng.integers(len(grids)))]
        lon, lat = random_point_in(grid.polygon, rng)
        category = categories[int(rng.integers(len(categories)))]
        body = {
            "category": category["code"],
            "title": f"{category['name']}（物联感知告警 #{i}）",
            "description": f"传感器在{grid.name}内报告：{category['name']}，请核实处置。",
            "source": "sensor",
            "urgency": URGENCIES[int(rng.integers(len(URGENCIES)))],
            "lon": lon, "lat": lat, "crs": "wgs84",
            "external_id": f"IOT-{run}-{i}",
        }
        planned.append(Planned(json.dumps(body, ensure_ascii=False).encode(),
                               f"bench-{run}-{i}", grid.code))
    return planned


def leaf_categories(port: int, token: str) -> list[dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", f"{CASES_PATH}/categories", headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"GET categories answered {response.status}: {data[:200]!r}")
    rows = json.loads(data)
    parents = {c["parent"] for c in rows if c["parent"]}
    leaves = [c for c in rows if c["code"] not in parents]
    if not leaves:
        raise RuntimeError("no active case categories: nothing to file cases under")
    return leaves


# -- the load --------------------------------------------------------------------------------


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    created: int = 0
    errors: int = 0
    misplaced: int = 0
    routed: int = 0
    retries: int = 0
    messages: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, message: str) -> None:
        with self.lock:
            self.errors += 1
            if len(self.messages) < 5:
                self.messages.append(message)


def drive(port: int, token: str, planned: list[Planned], clients: int,
          max_seconds: float, refused: bool = False) -> tuple[Outcome, float]:
    """POST every planned case from ``clients`` threads; returns the outcome and wall time.

    ``refused``: every submission is expected to be refused with 422 (the stack floor);
    ``created`` then counts those refusals.
    """
    outcome = Outcome()
    counter = itertools.count()
    base = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
            "Accept": "application/json"}
    stop_at = time.monotonic() + max_seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies = []
        while time.monotonic() < stop_at:
            i = next(counter)
            if i >= len(planned):
                break
            case = planned[i]
            headers = {**base, "Idempotency-Key": case.key} if case.key else base
            started = time.perf_counter()
            for attempt in range(3):
                try:
                    conn.request("POST", CASES_PATH, case.body, headers)
                    response = conn.getresponse()
                    data = response.read()
                    break
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    if attempt == 2:
                        outcome.note(f"case {i}: {type(exc).__name__}: {exc}")
                        data = None
                    else:
                        with outcome.lock:
                            outcome.retries += 1
            if data is None:
                continue
            latencies.append(time.perf_counter() - started)
            if refused:
                if response.status == 422:
                    with outcome.lock:
                        outcome.created += 1
                else:
                    outcome.note(f"floor {i}: HTTP {response.status}, not 422: {data[:200]!r}")
                continue
            # 200 answers a retry whose first attempt was filed after all: still one case.
            if response.status != 201 and not (response.status == 200 and attempt > 0):
                outcome.note(f"case {i}: HTTP {response.status}: {data[:300]!r}")
                continue
            try:
                answer = json.loads(data)
            except ValueError:
                outcome.note(f"case {i}: 201 with a body that is not JSON: {data[:200]!r}")
                continue
            with outcome.lock:
                outcome.created += 1
                if answer.get("region") != case.grid:
                    outcome.misplaced += 1
                if (answer.get("route") or {}).get("lead"):
                    outcome.routed += 1
        conn.close()
        with outcome.lock:
            outcome.latencies += latencies

    threads = [threading.Thread(target=client, name=f"client-{k}") for k in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome, time.perf_counter() - started


FLOOR_CATEGORY = "bench.no-such-category"


def stack_floor(servers, token: str, planned: list[Planned], clients: int,
                max_seconds: float) -> dict:
    """The same submissions, each naming a category that does not exist: authenticated,
    parsed and refused (422) before intake reads or writes a row. What the HTTP server,
    Django, the API layer and the client cost per request, timed on the same servers: no
    intake on this stack can be faster than this."""
    bodies = []
    for case in planned:
        body = json.loads(case.body)
        body["category"] = FLOOR_CATEGORY
        # No idempotency key: a refused submission with a key also asks whether that key
        # filed a case already (a retry is answered with its case), one query the floor
        # leaves out.
        bodies.append(Planned(json.dumps(body, ensure_ascii=False).encode(), "", case.grid))
    cpu_server0, cpu_client0 = _server.cpu_seconds(servers.pids), time.process_time()
    outcome, wall = drive(servers.port, token, bodies, clients, max_seconds, refused=True)
    cpu_server = _server.cpu_seconds(servers.pids) - cpu_server0
    cpu_client = time.process_time() - cpu_client0
    n = max(outcome.created, 1)
    return {
        "requests": outcome.created,
        "errors": outcome.errors,
        "per_s": round(outcome.created / wall, 1) if wall > 0 else None,
        "p50_ms": percentile_ms(outcome.latencies, 50),
        "server_cpu_ms": round(cpu_server / n * 1000, 3),
        "client_cpu_ms": round(cpu_client / n * 1000, 3),
        "messages": outcome.messages,
    }


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


# -- checks afterwards -----------------------------------------------------------------------


def verify(expected: int) -> dict:
    from django.core.management.base import CommandError
    from django.db import connection

    from wangge.audit.models import AuditRecord
    from wangge.cases.models import Case, CaseEvent

    connection.close()
    result = {
        "cases_in_db": Case.objects.count(),
        "report_events": CaseEvent.objects.filter(action="report").count(),
        "audit_case_records": AuditRecord.objects.filter(action="cases.report").count(),
    }
    try:
        result["audit_verify"] = command("audit", "verify").strip()
        result["audit_ok"] = True
    except CommandError as exc:
        result["audit_verify"] = str(exc)
        result["audit_ok"] = False
    result["counts_ok"] = (result["cases_in_db"] == result["report_events"]
                           == result["audit_case_records"] == expected)
    return result


# -- main ------------------------------------------------------------------------------------


def percentile_ms(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)) * 1000, 2) if values else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--cases", type=int, default=3000, help="cases to file (default 3000)")
    parser.add_argument("--clients", type=int, default=8,
                        help="concurrent client connections (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--size", default="M", help="demo city size (default M)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--raw-rows", type=int, help="rows of the raw INSERT loop (default N)")
    parser.add_argument("--floor-requests", type=int, default=2000,
                        help="refused submissions timed first as the stack floor "
                             "(default 2000; 0 skips)")
    parser.add_argument("--max-seconds", type=float, default=300,
                        help="stop sending after this long (default 300)")
    parser.add_argument("--profile", metavar="FILE",
                        help="record one worker with py-spy (raw flame-graph text) to FILE")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (and PostgreSQL database)")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.clients < 1 or args.workers < 1:
        parser.error("--cases, --clients and --workers must be at least 1")
    raw_rows = args.raw_rows or args.cases

    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="wangge-bench-intake-"))
    var_dir = workdir / "var"
    var_dir.mkdir()
    say(f"bench intake on {args.db}: {args.cases:,} cases from {args.clients} clients, "
        f"{args.workers} server processes; work dir {workdir}; load average "
        f"{load_before[0]:.2f}")
    servers = None
    try:
        t = time.perf_counter()
        database_url = fresh_database(args.db, workdir)
        setup_django(database_url, var_dir)
        city = build_city(args.size, args.seed)
        setup_s = time.perf_counter() - t
        say(f"database, city, defaults and token ready in {setup_s:.1f} s")

        raw_per_s, raw_s, raw_db_cpu_ms = raw_insert_rate(raw_rows, args.seed)
        say(f"raw single-row INSERT loop: {raw_rows:,} rows in {raw_s:.2f} s → "
            f"{raw_per_s:,.0f} rows/s"
            + (f"; PostgreSQL CPU {raw_db_cpu_ms:.3f} ms per row" if raw_db_cpu_ms else ""))

        env = {**os.environ, "DATABASE_URL": database_url, "WANGGE_VAR_DIR": str(var_dir),
               "WANGGE_DB_CONN_MAX_AGE": "600", "WANGGE_DEBUG": "0"}
        auth = {"Authorization": f"Bearer {city['token']}"}
        servers = _server.start(env, workers=args.workers, log_path=workdir / "server.log",
                                worker_class=args.worker_class, threads=args.threads,
                                headers=auth)
        say(f"{args.workers} {args.worker_class} workers (pids "
            f"{', '.join(map(str, servers.worker_pids))}) on 127.0.0.1:{servers.port}")
        categories = leaf_categories(servers.port, city["token"])
        planned = plan_cases(args.cases, args.size, args.seed, categories)
        say(f"{len(planned):,} cases planned over {len(categories)} categories")

        floor = stack_floor(servers, city["token"], planned[:args.floor_requests],
                            args.clients, args.max_seconds) if args.floor_requests else None
        if floor is not None:
            say(f"stack floor (refused before intake): {floor['requests']:,} requests → "
                f"{floor['per_s']:,} per s; CPU per request: servers {floor['server_cpu_ms']} "
                f"ms, client {floor['client_cpu_ms']} ms")
            for message in floor.pop("messages"):
                say(f"  floor error: {message}")

        spy = None
        if args.profile:
            spy = subprocess.Popen(  # noqa: S603 -- our own py-spy, fixed arguments
                [str(Path(sys.executable).with_name("py-spy")), "record", "-p",
                 str(servers.worker_pids[0]), "-r", "200", "-f", "raw", "-o", args.profile],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        db_pids = _server.backends_of(PG_DATABASE) if args.db == "postgres" else []
        cpu_server0 = _server.cpu_seconds(servers.pids)
        cpu_db0 = _server.cpu_seconds(db_pids)
        cpu_client0 = time.process_time()
        busy0 = machine_busy()
        outcome, wall = drive(servers.port, city["token"], planned, args.clients,
                              args.max_seconds)
        busy1 = machine_busy()
        cpu_client = time.process_time() - cpu_client0
        cpu_server = _server.cpu_seconds(servers.pids) - cpu_server0
        cpu_db = _server.cpu_seconds(db_pids) - cpu_db0
        if args.db == "postgres":  # connections opened during the run count whole
            late = sorted(set(_server.backends_of(PG_DATABASE)) - set(db_pids))
            cpu_db += _server.cpu_seconds(late)
        if spy is not None:
            spy.send_signal(2)
            spy.wait(timeout=60)
        _server.stop(servers)
        servers = None

        done = len(outcome.latencies)
        cases_per_s = outcome.created / wall if wall > 0 else 0.0
        p50, p99 = percentile_ms(outcome.latencies, 50), percentile_ms(outcome.latencies, 99)
        say(f"{outcome.created:,} of {args.cases:,} cases created in {wall:.2f} s → "
            f"{cases_per_s:,.0f} cases/s; latency p50 {p50} ms, p99 {p99} ms; "
            f"{outcome.errors} errors, {outcome.retries} retries")
        for message in outcome.messages:
            say(f"  error: {message}")
        per_case = max(outcome.created, 1)
        cpu_ms = (cpu_server + cpu_client + cpu_db) / per_case * 1000
        say(f"CPU per case: servers {cpu_server / per_case * 1000:.2f} ms, client "
            f"{cpu_client / per_case * 1000:.2f} ms"
            + (f", PostgreSQL {cpu_db / per_case * 1000:.2f} ms" if db_pids else "")
            + f"; machine busy {(busy1[0] - busy0[0]) / max(busy1[1] - busy0[1], 1):.0%}")

        checks = verify(outcome.created)
        say(f"in the database: {checks['cases_in_db']:,} cases, {checks['report_events']:,} "
            f"report events, {checks['audit_case_records']:,} audit records; "
            f"{checks['audit_verify']}")
        ratio = cases_per_s / raw_per_s if raw_per_s else None
        target = TARGETS[args.db]
        meets = cases_per_s >= target["cases_per_s"] and (
            "p99_ms" not in target or (p99 is not None and p99 < target["p99_ms"]))
        ok = (outcome.errors == 0 and outcome.created == args.cases == done
              and (floor is None or floor["errors"] == 0)
              and outcome.misplaced == 0 and checks["counts_ok"] and checks["audit_ok"])
        result = {
            "bench": "intake",
            "db": args.db,
            "size": args.size,
            "seed": args.seed,
            "cases": args.cases,
            "clients": args.clients,
            "server_processes": args.workers,
            "worker_class": args.worker_class,
            "threads": args.threads,
            "cases_per_s": round(cases_per_s, 1),
            "p50_ms": p50,
            "p90_ms": percentile_ms(outcome.latencies, 90),
            "p99_ms": p99,
            "max_ms": round(max(outcome.latencies) * 1000, 2) if outcome.latencies else None,
            "raw_insert_per_s": round(raw_per_s, 1),
            "raw_rows": raw_rows,
            "raw_db_cpu_ms_per_row": round(raw_db_cpu_ms, 3) if raw_db_cpu_ms else None,
            "ratio": round(ratio, 4) if ratio is not None else None,
            "created": outcome.created,
            "errors": outcome.errors,
            "retries": outcome.retries,
            "misplaced": outcome.misplaced,
            "routed": outcome.routed,
            "routing_rules": city["routing_rules"],
            "cases_in_db": checks["cases_in_db"],
            "audit_ok": checks["audit_ok"],
            "counts_ok": checks["counts_ok"],
            "server_cpu_ms_per_case": round(cpu_server / per_case * 1000, 3),
            "client_cpu_ms_per_case": round(cpu_client / per_case * 1000, 3),
            "db_cpu_ms_per_case": round(cpu_db / per_case * 1000, 3) if db_pids else None,
            "cpu_bound_cases_per_s": round((os.cpu_count() or 1) * 1000 / cpu_ms, 1)
            if cpu_ms > 0 else None,
            "machine_busy_share": round((busy1[0] - busy0[0]) / max(busy1[1] - busy0[1], 1), 3),
            "stack_floor_per_s": floor["per_s"] if floor else None,
            "stack_floor": floor,
            "cpus": os.cpu_count(),
            "load_average_before": round(load_before[0], 2),
            "wall_s": round(wall, 3),
            "setup_s": round(setup_s, 1),
            "target": target,
            "meets_target": meets,
            "ok": ok,
        }
        print(json.dumps(result, ensure_ascii=False))
        return 0 if ok else 1
    finally:
        if servers is not None:
            _server.stop(servers)
        if args.keep:
            say(f"kept {workdir}" + (f" and database {PG_DATABASE}" if args.db == "postgres"
                                     else ""))
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            if args.db == "postgres":
                _drop_pg()


def _drop_pg() -> None:
    try:
        from django.db import connections

        connections.close_all()
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True,
                             connect_timeout=10) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
    except Exception as exc:  # cleanup must not hide the result
        say(f"could not drop {PG_DATABASE}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
