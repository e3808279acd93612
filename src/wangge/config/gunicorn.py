"""gunicorn settings for serving wangge in production.

    gunicorn -c python:wangge.config.gunicorn wangge.config.wsgi

Behind an HTTPS reverse proxy (nginx, or the intranet's gateway) that sets ``REMOTE_ADDR``.
``WANGGE_BIND`` (default ``127.0.0.1:8000``) and ``WANGGE_WEB_WORKERS`` (default: the number
of CPUs) set where and how many; the command line overrides both. Sync workers, one request
at a time each: a request is mostly Python work, and threads would only queue on the lock.

Each worker is warmed before it takes its first request — every app's URLs and API schemas
imported, the database connection opened, the grid index for ``locate`` built — so the first
cases filed after a restart or a worker recycle are not the slowest (about 3 s otherwise).
A warm worker says so on stderr; the HTTP benchmarks wait for that line.
"""

from __future__ import annotations

import os
import sys
import time

bind = os.environ.get("WANGGE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WANGGE_WEB_WORKERS", "0")) or (os.cpu_count() or 1)
worker_class = "sync"
# No access log on the hot path: the proxy keeps one, and every write is in the audit trail.
accesslog = None
# gunicorn 23+ opens a control socket under ~/.gunicorn by default: one per user, so two
# deployments (or a benchmark beside a deployment) would fight over it.
control_socket_disable = True
timeout = 60
graceful_timeout = 20
keepalive = 5

WARM_LINE = "wangge: worker warm"


def post_worker_init(worker) -> None:
    """Warm the worker (see the module docstring), then say so."""
    started = time.perf_counter()
    from django.db import connection
    from django.urls import get_resolver

    from wangge.regions.locate import current_index

    get_resolver().url_patterns  # noqa: B018 -- imports every app's URLs and API routes
    connection.ensure_connection()
    index = current_index()
    print(f"{WARM_LINE} (pid {worker.pid}, {len(index.codes)} grids indexed, "
          f"{time.perf_counter() - started:.2f} s)", file=sys.stderr, flush=True)
