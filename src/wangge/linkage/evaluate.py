"""Pairwise precision and recall — 准确率与召回率 — of clusters against a known truth.

Two records are a predicted pair when they share a cluster, a true pair when they share a
person. Counting pairs group by group (n·(n−1)/2 per group) avoids listing them: true
positives are the pairs sharing both a cluster and a person. Used by tests and the bench.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa


@dataclass(frozen=True)
class PairScores:
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0


def pair_scores(clusters: pa.Table, truth: pa.Table) -> PairScores:
    """``clusters`` (record_id, cluster_id) against ``truth`` (record_id, person_id)."""
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False})
    con.register("c", clusters.select(["record_id", "cluster_id"]))
    con.register("t", truth.select(["record_id", "person_id"]))
    row = con.sql("""
        WITH j AS (SELECT c.cluster_id, t.person_id FROM c JOIN t USING (record_id)),
        pairs AS (
            SELECT 'true' AS kind, count(*) AS n FROM j GROUP BY person_id
            UNION ALL SELECT 'predicted', count(*) FROM j GROUP BY cluster_id
            UNION ALL SELECT 'correct', count(*) FROM j GROUP BY cluster_id, person_id)
        SELECT coalesce(sum(n * (n - 1) // 2) FILTER (WHERE kind = 'true'), 0),
               coalesce(sum(n * (n - 1) // 2) FILTER (WHERE kind = 'predicted'), 0),
               coalesce(sum(n * (n - 1) // 2) FILTER (WHERE kind = 'correct'), 0)
        FROM pairs""").fetchall()[0]
    con.close()
    return PairScores(int(row[0]), int(row[1]), int(row[2]))
