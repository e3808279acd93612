"""gunicorn settings for the HTTP benchmarks (``bench/_server.py`` passes ``--config``).

Workers, worker class, threads and the socket come from the command line. What is here is
what a production deployment would also want: no access log on the hot path, and each
worker warmed before it takes its first request — the URL configuration and API schemas
imported, the database connection opened and the grid index for ``locate`` built — so the
first cases filed after a (re)start are not the slowest. Each warm worker says so on stderr,
which the benchmark waits for.
"""

from __future__ import annotations

import sys
import time

accesslog = None
# gunicorn 23+ opens a control socket under ~/.gunicorn by default: one per user, so two
# benchmark runs (or a benchmark beside a real deployment) would fight over it.
control_socket_disable = True
timeout = 60
graceful_timeout = 20
keepalive = 5


def post_worker_init(worker) -> None:
    started = time.perf_counter()
    from django.db import connection
    from django.urls import get_resolver

    from wangge.regions.locate import current_index

    get_resolver().url_patterns  # noqa: B018 -- imports every app's URLs and API routes
    connection.ensure_connection()
    index = current_index()
    print(f"wangge-bench: worker warm (pid {worker.pid}, {len(index.codes)} grids indexed, "
          f"{time.perf_counter() - started:.2f} s)", file=sys.stderr, flush=True)
