"""One pass, or passes forever: how every background command runs (escalate, figures fold,
worker), so stopping and connection handling are written once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

from django.db import close_old_connections, connection

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def repeat(one_pass: Callable[[], None], every: float | None) -> None:
    """Run ``one_pass`` once (``every`` None), or every ``every`` seconds until SIGTERM or
    Ctrl-C — which end the loop between passes, never in the middle of one."""
    if every is None:
        one_pass()
        return
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in STOP_SIGNALS}
    try:
        while True:
            one_pass()
            if stop.wait(every):
                return
            # A worker lives for weeks: don't keep a connection the server dropped. (Not
            # inside a transaction, e.g. from a test: that would close the caller's
            # connection under it.)
            if not connection.in_atomic_block:
                close_old_connections()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
