"""The import pipeline — 导入流水线: rows in, checked, sealed, placed, classified, written.

One pass over the file serves both the steward's check (a dry run: counts, the row report, a
masked sample) and the commit (the same, plus writing): so what the preview promised is what
the commit does.

1. **Prepare** (``RowPreparer``, per chunk of rows): each mapped cell through the one value
   check (``catalog.fields.clean_value``), required fields present, the key read (a
   protected key — the ID number by default — becomes its blind index: the clear value is
   never a key), the row hashed and, on commit, sealed (``Sealer`` = ``records.seal``).
   Pure computation without the database, so large files are prepared by a pool of
   processes (``multiprocessing``, one per core) while this process writes.
2. **Place** each good row (``registry.placement``: grid code, point, building address).
3. **Deduplicate**: a key seen earlier in the file makes the later row bad ("same key as
   row N"); the first stands.
4. **Classify** against what the dataset already holds: new, changed (another row hash) or
   unchanged — and, on commit, write new and changed rows (``store``).

Problems are collected per row with the spreadsheet's row number, the column's header, the
standard field and the reason — never the value itself.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.utils import translation
from django.utils.translation import gettext as _

from wangge.catalog.fields import clean_value, get_field
from wangge.privacy.errors import InvalidValue
from wangge.registry import records

from ..placement import Misplaced, Placer, Spot
from . import store
from .sealing import Sealer

CHUNK_ROWS = 5000
KEY_MAX = 80  # SourceRecord.key
MAX_PROBLEMS_KEPT = 20_000  # listed in full up to here; counted beyond
PREVIEW_ROWS = 10
SAMPLE_UNTIL_ROW = 500  # rows past this are not masked for the preview sample
# Files at least this long are prepared by a process pool (when the machine has 2+ cores).
PARALLEL_MIN_ROWS = 20_000


@dataclass(frozen=True)
class RowSpec:
    """What preparing a row needs to know; plain values, so it crosses into pool processes."""

    columns: tuple[tuple[int, str, str], ...]  # (cell index, header, field code) mapped
    key_index: int
    key_header: str
    key_field: str  # the key column's standard field, "" when the column is not mapped
    key_kind: str  # its privacy kind when protected ("" otherwise)
    required: tuple[tuple[str, str, str], ...]  # (field code, header, label)
    seal: bool  # commit: seal payloads; check: hash only
    want_address: bool  # hand the clear address to placement (buildings are known)
    language: str


def build_spec(headers: list[str], mapping: dict[str, str], key_column: str,
               required: Iterable[str], *, seal: bool, want_address: bool) -> RowSpec:
    """The spec for a file with ``headers`` under a checked mapping."""
    columns = tuple((i, h, mapping[h]) for i, h in enumerate(headers) if mapping.get(h))
    header_of = {code: h for _i, h, code in columns}
    key_field = mapping.get(key_column, "")
    return RowSpec(
        columns=columns, key_index=headers.index(key_column), key_header=key_column,
        key_field=key_field,
        key_kind=(get_field(key_field).protected_kind or "") if key_field else "",
        required=tuple((c, header_of[c], get_field(c).label) for c in required
                       if c in header_of),
        seal=seal, want_address=want_address, language=translation.get_language() or "")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one row (``row`` as the spreadsheet numbers it)."""

    row: int
    column: str
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "field": self.field,
                "message": self.message}


@dataclass
class Report:
    """What a pass found: counts, the row report, a masked sample (check only)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    bad_rows: int = 0
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)
    sample: list[dict] = field(default_factory=list)
    person_ids: set[int] = field(default_factory=set)
    # Where the time went, in this process: waiting for prepared rows, placing, writing.
    timings: dict[str, float] = field(
        default_factory=lambda: {"prepare_s": 0.0, "place_s": 0.0, "write_s": 0.0})

    def add(self, problems: list[Problem]) -> None:
        self.bad_rows += 1
        self.problem_count += len(problems)
        room = MAX_PROBLEMS_KEPT - len(self.problems)
        if room > 0:
            self.problems.extend(problems[:room])

    @property
    def good_rows(self) -> int:
        return self.rows - self.bad_rows

    def summary(self) -> dict:
        return {"rows": self.rows, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "bad_rows": self.bad_rows,
                "problem_count": self.problem_count}


# -- 1. prepare ---------------------------------------------------------------------------------

# A prepared row: ("ok", row, key, row_hash, spot, sealed, masked) or ("bad", row, problems);
# sealed = (payload_cipher, masked JSON, id_number_index, phone_index, name_index) on commit.
Prepared = tuple


CACHE_MAX = 50_000  # remembered clean values per field, for the fields that are not personal


class _Remembered:
    """``clean_value`` for one field whose values repeat (dates, choices, grid codes): each
    distinct text checked once. Never used for protected fields — their values are personal
    and mostly distinct."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.known: dict[str, tuple[bool, str]] = {}

    def __call__(self, raw: str) -> str:
        hit = self.known.get(raw)
        if hit is None:
            if len(self.known) >= CACHE_MAX:
                self.known.clear()
            try:
                hit = (True, clean_value(self.code, raw))
            except InvalidValue as exc:
                hit = (False, str(exc))
            self.known[raw] = hit
        if not hit[0]:
            raise InvalidValue(hit[1])
        return hit[1]


def _cleaner(code: str) -> Callable[[str], str]:
    if get_field(code).protected_kind:
        return lambda raw: clean_value(code, raw)
    return _Remembered(code)


class RowPreparer:
    """Prepares rows under one ``RowSpec`` (in this process or a pool worker)."""

    def __init__(self, spec: RowSpec) -> None:
        self.spec = spec
        self.sealer = Sealer()
        self.columns = [(index, header, code, _cleaner(code))
                        for index, header, code in spec.columns]

    def prepare(self, rows: list[tuple[int, list[str]]]) -> list[Prepared]:
        with translation.override(self.spec.language or None):
            return [self._row(number, cells) for number, cells in rows]

    def _row(self, number: int, cells: list[str]) -> Prepared:
        spec = self.spec
        values: dict[str, str] = {}
        problems: list[tuple[str, str, str]] = []
        failed: set[str] = set()
        for index, header, code, clean in self.columns:
            raw = cells[index]
            if not raw:
                continue
            try:
                value = clean(raw)
            except InvalidValue as exc:
                problems.append((header, code, str(exc)))
                failed.add(code)
                continue
            if value:
                values[code] = value
        for code, header, label in spec.required:
            if code not in values and code not in failed:
                problems.append((header, code, _("%(field)s is required but empty")
                                 % {"field": label}))
        key = self._key(cells, values, failed, problems)
        if problems:
            return ("bad", number, problems)
        spot = (values.get("grid_code", ""), values.get("lon", ""), values.get("lat", ""),
                values.get("address", "") if spec.want_address else "")
        masked = None
        if spec.seal:
            sealed = self.sealer.seal(values)
            row_hash = sealed.row_hash
            payload = (sealed.payload_cipher, json.dumps(sealed.masked), sealed.id_number_index,
                       sealed.phone_index, sealed.name_index)
        else:
            row_hash = self.sealer.row_hash(values)[1]
            payload = None
            if number <= SAMPLE_UNTIL_ROW:
                masked = records.mask_values(values)
        return ("ok", number, key, row_hash, spot, payload, masked)

    def _key(self, cells: list[str], values: dict[str, str], failed: set[str],
             problems: list) -> str:
        spec = self.spec
        if spec.key_field:
            if spec.key_field in failed:
                return ""  # already reported: the key column's value is not valid
            text = values.get(spec.key_field, "")
        else:
            text = cells[spec.key_index]
        if not text:
            problems.append((spec.key_header, spec.key_field or "key",
                             _("the key column “%(column)s” is empty: it identifies the row")
                             % {"column": spec.key_header}))
            return ""
        if spec.key_kind:
            return self.sealer.kind_index(spec.key_kind, text)
        if len(text) > KEY_MAX:
            problems.append((spec.key_header, spec.key_field or "key",
                             _("a key has at most %(max)d characters, not %(n)d")
                             % {"max": KEY_MAX, "n": len(text)}))
            return ""
        return text


_worker: RowPreparer | None = None


def _init_worker(spec: RowSpec) -> None:
    global _worker
    _worker = RowPreparer(spec)


def _prepare_in_worker(rows: list[tuple[int, list[str]]]) -> list[Prepared]:
    assert _worker is not None
    return _worker.prepare(rows)


def _chunks(rows: Iterator[tuple[int, list[str]]]) -> Iterator[list]:
    chunk: list = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def pool_size(expected_rows: int) -> int:
    """Processes to prepare rows with: one per core (at most 4) for a long file, else 0.

    Only a single-threaded process forks (the worker, the command line): forking a threaded
    web server could copy a lock another thread holds into the child, which would then hang.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if expected_rows < PARALLEL_MIN_ROWS or (cores or 1) < 2 or threading.active_count() > 1:
        return 0
    return min(cores or 1, 4)


def prepared_chunks(rows: Iterator[tuple[int, list[str]]], spec: RowSpec,
                    processes: int = 0) -> Iterator[list[Prepared]]:
    """Prepared chunks in file order; with ``processes`` a fork pool prepares them, at most
    two chunks per process in flight (the file is never read far ahead into memory)."""
    if processes <= 0:
        preparer = RowPreparer(spec)
        for chunk in _chunks(rows):
            yield preparer.prepare(chunk)
        return
    # fork: the children inherit settings, the key ring and the translations, and touch no
    # database connection (preparing is pure computation).
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, initializer=_init_worker, initargs=(spec,)) as pool:
        pending: deque = deque()
        for chunk in _chunks(rows):
            pending.append(pool.apply_async(_prepare_in_worker, (chunk,)))
            if len(pending) >= processes * 2:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


# -- 2–4. place, deduplicate, classify, write --------------------------------------------------


@dataclass
class Pass:
    """One pass over a file for a dataset: a check (``writer`` None) or a commit."""

    dataset_id: int
    spec: RowSpec
    placer: Placer
    writer: store.Writer | None = None
    check_existing: bool = True
    # The dataset has a retention period: unchanged rows are marked as listed again.
    touch_unchanged: bool = False
    report: Report = field(default_factory=Report)
    seen: dict[str, int] = field(default_factory=dict)

    def header_of(self, code: str) -> str:
        for _index, header, mapped in self.spec.columns:
            if mapped == code:
                return header
        return ""

    def run(self, rows: Iterator[tuple[int, list[str]]], processes: int = 0,
            on_progress: Callable[[int], None] | None = None) -> Report:
        chunks = prepared_chunks(rows, self.spec, processes)
        writer = self.writer
        try:
            with writer.guarding() if writer is not None else contextlib.nullcontext():
                self._all(chunks, on_progress)
                if writer is not None:
                    t = time.perf_counter()
                    writer.flush()
                    self.report.timings["write_s"] += time.perf_counter() - t
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        finally:
            chunks.close()
        return self.report

    def _all(self, chunks: Iterator[list[Prepared]],
             on_progress: Callable[[int], None] | None) -> None:
        timings = self.report.timings
        while True:
            t = time.perf_counter()
            chunk = next(chunks, None)
            timings["prepare_s"] += time.perf_counter() - t
            if chunk is None:
                return
            self._chunk(chunk)
            if on_progress is not None:
                on_progress(self.report.rows)

    def _chunk(self, chunk: list[Prepared]) -> None:
        report = self.report
        good = []
        for item in chunk:
            report.rows += 1
            if item[0] == "bad":
                report.add([Problem(item[1], column, code, message)
                            for column, code, message in item[2]])
            else:
                good.append(item)
        t = time.perf_counter()
        places = self.placer.place_many([Spot(*item[4]) for item in good])
        report.timings["place_s"] += time.perf_counter() - t
        keep = []
        for item, place in zip(good, places, strict=True):
            number, key = item[1], item[2]
            if isinstance(place, Misplaced):
                report.add([Problem(number, self.header_of(place.field), place.field,
                                    place.message)])
            elif key in self.seen:
                report.add([Problem(number, self.spec.key_header, self.spec.key_field or "key",
                                    _("the same key as row %(first)d; only the first of "
                                      "them is imported") % {"first": self.seen[key]})])
            else:
                self.seen[key] = number
                keep.append((item, place))
        self._classify(keep)

    def _classify(self, keep: list) -> None:
        report = self.report
        existing = {}
        if self.check_existing:
            if self.writer is not None:
                self.writer.flush()  # no other statement while a COPY is open
            existing = store.lookup(self.dataset_id, [item[2] for item, _place in keep])
        new, changed, unchanged = [], [], []
        for item, place in keep:
            _ok, number, key, row_hash, _spot, payload, masked = item
            if masked is not None and len(report.sample) < PREVIEW_ROWS:
                report.sample.append({"row": number, "values": masked})
            old = existing.get(key)
            if old is not None and old.row_hash == row_hash:
                report.unchanged += 1
                unchanged.append(old.id)
                continue
            if old is None:
                report.created += 1
                if self.writer is not None:
                    new.append((key, place.region_id, place.region_path, row_hash, *payload))
            else:
                report.updated += 1
                if old.person_id is not None:
                    report.person_ids.add(old.person_id)
                if self.writer is not None:
                    changed.append((old.id, place.region_id, place.region_path, row_hash,
                                    *payload))
        if self.writer is not None:
            t = time.perf_counter()
            self.writer.insert(new)
            self.writer.update(changed)
            if self.touch_unchanged:
                self.writer.touch(unchanged)
            report.timings["write_s"] += time.perf_counter() - t
