"""A steward's decisions and clustering that honours them — 人工合并与拆分.

Scoring says how likely two records describe one person; clustering turns the pairs at or
above the merge threshold into groups (one master record each). A data steward overrides the
model pair by pair: *merge* (these two are one person) or *keep apart* (they are not). Merge
and un-merge are therefore not edits of a master record but decisions kept as data; clustering
is a pure function of (scored pairs, active decisions). Revoking a decision and clustering
again restores the model's answer: every merge and un-merge is reversible, and the registry
records who decided what, when and why in its own table and the audit trail.

Clustering is Kruskal-like: merges first, then pairs from the most to the least likely; a
pair is skipped when joining its two groups would put together two records someone decided to
keep apart. So "keep apart" splits a chain A–B–C at its weakest link, not only at A–C. The
same holds for identities: a group holding a checked ID number never joins a group holding
only other checked numbers — a record without a number, as like two namesakes born the same
day as it may be, joins the one it resembles most and cannot bridge them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class Verdict(StrEnum):
    """What a steward decided about a pair — 合并 / 不合并."""

    MERGE = "merge"
    KEEP_APART = "keep_apart"


@dataclass(frozen=True)
class Decision:
    """One active decision about two records (by ``record_id``)."""

    record_a: str
    record_b: str
    verdict: Verdict

    @property
    def pair(self) -> tuple[str, str]:
        return (self.record_a, self.record_b) if self.record_a <= self.record_b else (
            self.record_b, self.record_a)


@dataclass(frozen=True)
class Conflict:
    """A keep-apart decision that merges alone already break (A=B, B=C, yet A≠C)."""

    decision: Decision
    reason: str


def latest_per_pair(decisions: list[Decision]) -> list[Decision]:
    """The last decision given for each pair wins (the list is in the order they were made)."""
    last: dict[tuple[str, str], Decision] = {}
    for d in decisions:
        if d.record_a == d.record_b:
            raise ValueError(f"a decision needs two different records, got {d.record_a!r} twice")
        last[d.pair] = d
    return list(last.values())


class _Groups:
    """Union-find over record positions with "cannot join" marks between groups."""

    def __init__(self, size: int, identity: list[str | None] | None = None):
        self.parent = np.arange(size, dtype=np.int64).tolist()
        self.apart: dict[int, set[int]] = {}
        # root → the checked identities (ID numbers) its group holds
        self.ident: dict[int, set[str]] = {
            i: {value} for i, value in enumerate(identity or ()) if value is not None}

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def can_join(self, ra: int, rb: int) -> bool:
        if rb in self.apart.get(ra, ()):
            return False
        ia, ib = self.ident.get(ra), self.ident.get(rb)
        return not (ia and ib and ia.isdisjoint(ib))

    def join(self, ra: int, rb: int) -> None:
        """Join two roots; the smaller position stays root (a stable cluster key)."""
        if ra > rb:
            ra, rb = rb, ra
        self.parent[rb] = ra
        idents = self.ident.pop(rb, None)
        if idents:
            self.ident.setdefault(ra, set()).update(idents)
        moved = self.apart.pop(rb, None)
        if moved:
            self.apart.setdefault(ra, set()).update(moved)
            for other in moved:
                marks = self.apart[other]
                marks.discard(rb)
                marks.add(ra)

    def mark_apart(self, ra: int, rb: int) -> None:
        self.apart.setdefault(ra, set()).add(rb)
        self.apart.setdefault(rb, set()).add(ra)


def cluster(size: int, left: np.ndarray, right: np.ndarray, merges: list[tuple[int, int]],
            apart: list[tuple[int, int]],
            identity: list[str | None] | None = None) -> tuple[np.ndarray, list[int]]:
    """Cluster ``size`` records given edges (``left``/``right`` positions, most likely first).

    ``identity`` (per record, optional): a checked ID number or None; groups whose numbers
    all differ are not joined by edges (a steward's merge still joins them). Returns the root
    position per record and the indexes into ``apart`` that merges alone already violate.
    """
    groups = _Groups(size, identity)
    for a, b in merges:
        ra, rb = groups.find(a), groups.find(b)
        if ra != rb:
            groups.join(ra, rb)
    conflicts = []
    for i, (a, b) in enumerate(apart):
        ra, rb = groups.find(a), groups.find(b)
        if ra == rb:
            conflicts.append(i)
        else:
            groups.mark_apart(ra, rb)
    find, can_join, join = groups.find, groups.can_join, groups.join
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb and can_join(ra, rb):
            join(ra, rb)
    roots = np.fromiter((find(x) for x in range(size)), dtype=np.int64, count=size)
    return roots, conflicts
