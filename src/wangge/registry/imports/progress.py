"""Import progress — 导入进度: how far a running import is, visible while it runs.

An import is one transaction, so nothing it writes to the database is visible before it
commits — progress included. It is kept instead in a small JSON file per run under
``VAR_DIR/imports/progress`` (written atomically, at most a few times a second), which the
run page polls and any process (web or worker) can read.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from django.conf import settings

WRITE_EVERY_SECONDS = 0.5


def progress_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports" / "progress"
    path.mkdir(parents=True, exist_ok=True)
    return path


def progress_path(run_id: int) -> Path:
    return progress_dir() / f"{int(run_id)}.json"


class Progress:
    """Writes one run's progress: ``processed`` of ``total`` rows and the ``phase``."""

    def __init__(self, run_id: int, total: int) -> None:
        self.path = progress_path(run_id)
        self.total = total
        self._written = 0.0

    def update(self, processed: int, phase: str = "checking", *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._written < WRITE_EVERY_SECONDS:
            return
        self._written = now
        data = {"processed": processed, "total": max(self.total, processed), "phase": phase,
                "at": time.time()}
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def read_progress(run_id: int) -> dict | None:
    """The last progress written for a run, or None (not started, or finished)."""
    try:
        return json.loads(progress_path(run_id).read_text())
    except (FileNotFoundError, ValueError):
        return None
