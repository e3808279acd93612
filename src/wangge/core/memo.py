"""Per-process memory of what nearly every request reads and hardly anyone edits.

``Snapshot`` holds a whole small table (categories, routing and deadline rules); ``Recent``
holds rows read one key at a time (the API token of a sensor that posts every second). Both
trade a query per request for one per process every few seconds: an edit in this process
clears them at once; other processes see it within ``seconds``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
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
        _clear_on(self.clear, models)
        return self


class Recent(Generic[K, T]):
    """Rows read by key, each trusted for ``seconds`` after it was read.

    A key whose load finds nothing (None) is not kept: a stream of wrong keys must not
    fill the memory, and a row created a moment later is found at once. At most
    ``max_entries`` keys are kept; past that the memory starts afresh rather than keeping
    an order of use on every read.
    """

    def __init__(self, load: Callable[[K], T | None], seconds: float = 5.0,
                 max_entries: int = 10_000) -> None:
        self._load, self._seconds, self._max = load, seconds, max_entries
        self._items: dict[K, tuple[float, T]] = {}

    def get(self, key: K) -> T | None:
        now = time.monotonic()
        hit = self._items.get(key)
        if hit is not None and now - hit[0] < self._seconds:
            return hit[1]
        value = self._load(key)
        if value is None:
            self._items.pop(key, None)
            return None
        if len(self._items) >= self._max:
            self._items = {}
        self._items[key] = (now, value)
        return value

    def clear(self, *args, **kwargs) -> None:
        """Forget every key (also a signal receiver: any arguments are ignored)."""
        self._items = {}

    def clear_on(self, *models) -> Recent[K, T]:
        """Clear whenever a row of ``models`` is saved or deleted in this process."""
        _clear_on(self.clear, models)
        return self


def _clear_on(clear: Callable[..., None], models) -> None:
    from django.db.models.signals import m2m_changed, post_delete, post_save

    for model in models:
        for signal in (post_save, post_delete):
            signal.connect(clear, sender=model, weak=False)
        for field in model._meta.many_to_many:
            m2m_changed.connect(clear, sender=field.remote_field.through, weak=False)
