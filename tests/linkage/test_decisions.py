"""Clustering under a steward's decisions: keep-apart cuts the weakest link of a chain."""

from __future__ import annotations

import numpy as np

from wangge.linkage.decisions import cluster


def _roots(size, edges, merges=(), apart=(), identity=None):
    left = np.array([a for a, _ in edges], dtype=np.int64)
    right = np.array([b for _, b in edges], dtype=np.int64)
    roots, conflicts = cluster(size, left, right, list(merges), list(apart), identity)
    return roots.tolist(), conflicts


def test_chain_is_cut_at_its_weakest_link():
    # A–B is the stronger pair (it comes first), B–C the weaker: keeping A and C apart
    # leaves A with B.
    assert _roots(3, [(0, 1), (1, 2)], apart=[(0, 2)]) == ([0, 0, 2], [])
    assert _roots(3, [(1, 2), (0, 1)], apart=[(0, 2)]) == ([0, 1, 1], [])


def test_marks_follow_groups_as_they_grow():
    # 0 and 3 kept apart; 0–1 and 2–3 join first, then 1–2 would join the two groups.
    roots, _ = _roots(4, [(0, 1), (2, 3), (1, 2)], apart=[(0, 3)])
    assert roots == [0, 0, 2, 2]


def test_merges_come_first_and_contradictions_are_reported():
    roots, conflicts = _roots(3, [], merges=[(0, 1), (1, 2)], apart=[(0, 2)])
    assert roots == [0, 0, 0]
    assert conflicts == [0]


def test_without_decisions_it_is_connected_components():
    roots, _ = _roots(6, [(4, 5), (0, 2), (2, 4)])
    assert roots == [0, 1, 0, 3, 0, 0]


def test_a_record_without_number_cannot_bridge_two_numbers():
    # 0 and 2 hold different checked ID numbers; 1 has none and resembles both (0 most).
    roots, _ = _roots(3, [(0, 1), (1, 2)], identity=["A", None, "B"])
    assert roots == [0, 0, 2]
    # Without numbers it is plain connected components again.
    assert _roots(3, [(0, 1), (1, 2)])[0] == [0, 0, 0]
    # Same number twice (a duplicate) joins; a steward's merge overrides the numbers.
    assert _roots(2, [(0, 1)], identity=["A", "A"])[0] == [0, 0]
    assert _roots(2, [], merges=[(0, 1)], identity=["A", "B"])[0] == [0, 0]
