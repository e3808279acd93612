"""Per-process snapshots of small tables that every request reads and administrators rarely
edit (categories, routing and deadline rules): one query per process every few seconds
instead of several per request. An edit in this process clears the snapshot at once; other
processes see it within ``seconds``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Snapshot(Generic[T]):
    def __init__(self, load: Callable[[], T], seconds: float = 5.0) -> None:
        self._load, self._seconds = load, seconds
        self._value: T | None = None
        self._at = -1e18
        self._lock = threading.Lock()

    def get(self) -> T:
        if time.monotonic() - self._at < self._seconds and self._value is not None:
            return self._value
        with self._lock:
            if time.monotonic() - self._at >= self._seconds or self._value is None:
                self._value, self._at = self._load(), time.monotonic()
            return self._value

    def clear(self, *args, **kwargs) -> None:
        """Forget the snapshot (also a signal receiver: any arguments are ignored)."""
        with self._lock:
            self._value, self._at = None, -1e18

    def clear_on(self, *models) -> Snapshot[T]:
        """Clear whenever a row of ``models`` is saved or deleted in this process."""
        from django.db.models.signals import m2m_changed, post_delete, post_save

        for model in models:
            for signal in (post_save, post_delete):
                signal.connect(self.clear, sender=model, weak=False)
            for field in model._meta.many_to_many:
                m2m_changed.connect(self.clear, sender=field.remote_field.through, weak=False)
        return self
