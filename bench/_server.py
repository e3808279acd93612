"""Helpers for benchmarks that drive the platform through HTTP: start N server processes on a
loopback socket, wait for them, read their CPU time, stop them.

The server is gunicorn (the production WSGI server we deploy behind a proxy): a master that
binds the socket and forks ``workers`` worker processes, each answering with its own
persistent database connection. The socket is bound here, before gunicorn starts, and handed
over as an inherited file descriptor: the port is free and ours, with no window in which
another process could take it. The production settings (``wangge.config.gunicorn``) warm
each worker before it accepts; the command line sets the socket and the worker count.

Not a benchmark itself (the leading underscore makes ``scripts/run-bench.sh`` skip it).
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from wangge.config.gunicorn import WARM_LINE  # what each worker prints once it is warm

BENCH_DIR = Path(__file__).resolve().parent
CHECKOUT = BENCH_DIR.parent
GUNICORN_CONF = "python:wangge.config.gunicorn"
CLK_TCK = os.sysconf("SC_CLK_TCK")


class ServerError(RuntimeError):
    """The servers could not be started or did not answer in time."""


def gunicorn_command() -> list[str]:
    """The gunicorn beside the running interpreter, or a clear error naming the fix."""
    exe = Path(sys.executable).with_name("gunicorn")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("gunicorn")
    if found:
        return [found]
    raise ServerError("gunicorn is not installed in this environment; it is the platform's "
                      "WSGI server (`uv sync` installs it once it is a dependency)")


@dataclass
class Servers:
    """Running server processes: the gunicorn master and its workers, on ``port``."""

    process: subprocess.Popen
    port: int
    log_path: Path
    worker_pids: list[int] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        return [self.process.pid, *self.worker_pids]


def _loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def start(env: dict[str, str], *, workers: int, log_path: Path, worker_class: str = "sync",
          threads: int = 1, ready_path: str = "/api/v1/cases/categories",
          headers: dict[str, str] | None = None, timeout_s: float = 90.0) -> Servers:
    """Start gunicorn with ``workers`` worker processes on 127.0.0.1 and wait until every
    worker has answered ``ready_path`` with 200 (each worker is warmed by the config hook
    first, so the first timed request does not pay for imports or index building)."""
    sock = _loopback_socket()
    port = sock.getsockname()[1]
    cmd = [*gunicorn_command(), "--config", GUNICORN_CONF,
           "--bind", f"fd://{sock.fileno()}", "--workers", str(workers),
           "--worker-class", worker_class, "--threads", str(threads),
           "--chdir", str(CHECKOUT), "wangge.config.wsgi:application"]
    log = log_path.open("ab")
    process = subprocess.Popen(  # noqa: S603 -- our own command line
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, pass_fds=(sock.fileno(),),
        start_new_session=True)
    sock.close()  # gunicorn holds its own copy
    log.close()
    servers = Servers(process, port, log_path)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            if process.poll() is not None:
                raise ServerError(f"gunicorn exited with {process.returncode}; see {log_path}")
            servers.worker_pids = children_of(process.pid)
            ready = _warm_workers_ready(log_path)
            if len(servers.worker_pids) >= workers and ready >= workers:
                break
            if time.monotonic() > deadline:
                raise ServerError(f"{ready} of {workers} workers ready after {timeout_s:.0f} s; "
                                  f"see {log_path}")
            time.sleep(0.1)
        # Every worker is warm; the HTTP round trip proves the socket answers.
        status = get_status(port, ready_path, headers or {})
        if status != 200:
            raise ServerError(f"GET {ready_path} answered {status}; see {log_path}")
    except BaseException:
        stop(servers)
        tail = log_path.read_text(errors="replace").splitlines()[-15:] if log_path.exists() else []
        if tail:
            print("server log (last lines):", *tail, sep="\n  ", file=sys.stderr)
        raise
    return servers


def _warm_workers_ready(log_path: Path) -> int:
    try:
        return log_path.read_text(errors="replace").count(WARM_LINE)
    except FileNotFoundError:
        return 0


def get_status(port: int, path: str, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def stop(servers: Servers, timeout_s: float = 30.0) -> None:
    """Graceful stop (SIGTERM to the master, which stops its workers), then SIGKILL to the
    group we started if it lingers."""
    process = servers.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (gunicorn's workers)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return sorted(set(out))


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by each of ``pids`` (gone ones count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / CLK_TCK


def backends_of(database: str) -> list[int]:
    """PostgreSQL backend processes serving ``database`` (their title names it), to read
    their CPU time; other databases' backends on the same server are left out. Nothing is
    ever signalled through this list."""
    out = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            title = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if title.startswith("postgres: ") and f" {database} " in title:
            out.append(int(cmdline.parent.name))
    return out
