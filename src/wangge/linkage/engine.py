"""The linkage engine — 数据融合引擎: prepare, train, score, cluster; offline, on DuckDB.

``link(records, config)`` is what the registry calls with the records of every source (plain
Arrow/DuckDB/dict rows with the standard fields). It returns clusters (one master key per
person: the smallest ``record_id`` of the group), the review queue just below the merge
threshold with what agreed field by field, the scored pairs (so a steward's decisions can be
applied again with ``recluster`` without scoring anew) and timings.

The model is Splink's Fellegi–Sunter model on DuckDB: u probabilities from a seeded random
sample of pairs, m probabilities by expectation maximisation on two blockings, the prior from
near-certain rules. DuckDB runs in memory with extension auto-install and auto-load switched
off: intranets are offline, and nothing here may try the network.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink import comparison_library as cl
from splink.internals.exceptions import EMTrainingException

from wangge.linkage.config import DEFAULT_CONFIG, SQL_MACROS, Comparison, LinkConfig
from wangge.linkage.decisions import Conflict, Decision, Verdict, cluster, latest_per_pair
from wangge.linkage.prepare import RecordsInput, prepare

# DuckDB settings that keep it from fetching anything: no extension is installed or loaded
# behind our back (the ones we use — core functions, ICU, JSON, Parquet — are built in).
OFFLINE_SETTINGS: dict[str, Any] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
}

log = logging.getLogger(__name__)

MISSING_LABEL = "missing"
BRIDGE_REFUSED = "its groups hold different ID numbers or were kept apart by a steward"


@dataclass(frozen=True)
class ReviewPair:
    """Two records the model is unsure about — 待人工确认: a steward decides."""

    record_a: str
    record_b: str
    probability: float
    match_weight: float
    agreement: dict[str, str]  # field → level label ("exact", "same pinyin", "missing" …)
    held_back: str = ""  # why a pair at or above the threshold was not merged automatically


@dataclass
class LinkResult:
    """What a linkage run found. ``clusters``: ``record_id``, ``cluster_id`` for every record."""

    clusters: pa.Table
    review: list[ReviewPair]
    edges: pa.Table  # scored pairs at or above the review threshold, most likely first
    conflicts: list[Conflict]
    config: LinkConfig
    model: dict[str, Any]  # the trained Splink settings: weights a steward can inspect
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step
    review_truncated: int = 0  # review pairs left out beyond config.max_review_pairs
    pairs_scored: int = 0  # pairs the blocking rules produced with p ≥ review threshold
    identity: pa.ChunkedArray | None = None  # per record (cluster order): checked ID or null

    @property
    def records(self) -> int:
        return self.clusters.num_rows

    def cluster_of(self) -> dict[str, str]:
        """record_id → cluster_id (convenient for small results and tests)."""
        return dict(zip(self.clusters.column("record_id").to_pylist(),
                        self.clusters.column("cluster_id").to_pylist(), strict=True))


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that cannot reach the network for extensions."""
    config = dict(OFFLINE_SETTINGS)
    if threads:
        config["threads"] = threads
    return duckdb.connect(":memory:", config=config)


def _splink_comparison(c: Comparison) -> cl.CustomComparison:
    levels: list[dict[str, Any]] = [
        {"sql_condition": c.null_sql, "label_for_charts": MISSING_LABEL, "is_null_level": True}]
    for lv in c.levels:
        level = {"sql_condition": lv.sql, "label_for_charts": lv.label, "m_probability": lv.m,
                 "u_probability": lv.u}
        if lv.tf_column:
            level |= {"tf_adjustment_column": lv.tf_column, "tf_adjustment_weight": 1.0}
        levels.append(level)
    levels.append({"sql_condition": "ELSE", "label_for_charts": c.else_label,
                   "m_probability": c.else_m, "u_probability": c.else_u})
    return cl.CustomComparison(comparison_levels=levels, output_column_name=c.field)


def splink_settings(config: LinkConfig) -> SettingsCreator:
    """The Splink model the declarations in ``config`` describe."""
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_id",
        comparisons=[_splink_comparison(c) for c in config.comparisons],
        blocking_rules_to_generate_predictions=[block_on(*cols)
                                                for cols in config.blocking_rules],
        retain_matching_columns=True,  # with them come the gamma_ columns: what agreed
        retain_intermediate_calculation_columns=False,
    )


def _level_labels(c: Comparison) -> dict[int, str]:
    """Splink's comparison vector value → label: -1 null, 0 else, n for the first level."""
    n = len(c.levels)
    labels = {-1: MISSING_LABEL, 0: c.else_label}
    labels.update({n - i: lv.label for i, lv in enumerate(c.levels)})
    return labels


class _Timer:
    def __init__(self):
        self.timings: dict[str, float] = {}

    def lap(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[name] = round(now - since, 3)
        return now


def _train(linker: Linker, config: LinkConfig, size: int) -> None:
    """Prior, u and m from the data; a small population trains only what it can.

    When the deterministic rules find more pairs than the declared recall allows, they are
    taken to have found them all; the prior is kept between one pair in all and
    ``config.max_prior``. Below ``config.train_min_records`` the declared m and u stand. A
    training blocking that yields no pair is skipped: its levels keep the declared m.
    """
    rules = [block_on(*cols) for cols in config.deterministic_rules]
    try:
        linker.training.estimate_probability_two_random_records_match(
            rules, recall=config.deterministic_recall)
    except ValueError:
        linker.training.estimate_probability_two_random_records_match(rules, recall=1.0)
    settings = linker._settings_obj  # Splink keeps the prior here; there is no setter
    pairs = size * (size - 1) / 2
    settings._probability_two_random_records_match = min(max(
        settings._probability_two_random_records_match, 1 / pairs), config.max_prior)
    if size < config.train_min_records:
        return
    linker.training.estimate_u_using_random_sampling(max_pairs=config.u_max_pairs,
                                                     seed=config.seed)
    for cols in config.training_rules:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*cols), estimate_without_term_frequencies=True)
        except EMTrainingException:
            log.info("linkage: no pair blocked on %s to train on; declared m kept", cols)


def link(records: RecordsInput, config: LinkConfig = DEFAULT_CONFIG,
         decisions: Iterable[Decision] = (), *,
         con: duckdb.DuckDBPyConnection | None = None) -> LinkResult:
    """Link ``records`` (standard fields, unique ``record_id``) into one cluster per person.

    ``decisions`` are the stewards' active merge / keep-apart decisions; they are honoured
    (see ``decisions.py``). Raises ``ValueError`` for input without usable record ids.
    """
    own = con is None
    con = con or connect(config.threads)
    try:
        return _link(con, records, config, list(decisions))
    finally:
        if own:
            con.close()


def _link(con: duckdb.DuckDBPyConnection, records: RecordsInput, config: LinkConfig,
          decisions: list[Decision]) -> LinkResult:
    timer = _Timer()
    start = t = time.perf_counter()
    for macro in SQL_MACROS:
        con.execute(macro)
    size = prepare(con, records)
    t = timer.lap("prepare", t)
    if size < 2:  # nothing to compare: each record is its own person
        ids = con.sql("SELECT record_id FROM linkage_input ORDER BY record_id").to_arrow_table()
        result = _clusters(ids.column("record_id"), _no_edges(config), config, decisions, None)
        result.timings = {**timer.timings, "total": round(time.perf_counter() - start, 3)}
        return result

    db_api = DuckDBAPI(con)
    linker = Linker(db_api.register("linkage_input"), splink_settings(config),
                    log_level=logging.ERROR)  # untrained levels keep declared priors
    _train(linker, config, size)
    t = timer.lap("train", t)

    predictions = linker.inference.predict(threshold_match_probability=config.review_threshold,
                                           warning_mode="never")
    gammas = ", ".join(f'"gamma_{c.field}"' for c in config.comparisons)
    con.execute("""CREATE OR REPLACE TEMP TABLE linkage_ids AS
        SELECT record_id, (row_number() OVER (ORDER BY record_id) - 1)::BIGINT AS pos
        FROM linkage_input""")
    edges = con.sql(f"""
        SELECT p.record_id_l, p.record_id_r, l.pos AS pos_l, r.pos AS pos_r,
               p.match_probability, p.match_weight, {gammas}
        FROM {predictions.physical_name} p
        JOIN linkage_ids l ON l.record_id = p.record_id_l
        JOIN linkage_ids r ON r.record_id = p.record_id_r
        ORDER BY p.match_probability DESC, p.record_id_l, p.record_id_r
        """).to_arrow_table()  # noqa: S608 — names from the config and Splink, no input
    predictions.drop_table_from_database_and_remove_from_cache()
    t = timer.lap("predict", t)

    ids = con.sql("""
        SELECT i.record_id, CASE WHEN r.id_checked THEN r.id_number END AS identity
        FROM linkage_ids i JOIN linkage_input r USING (record_id)
        ORDER BY i.pos""").to_arrow_table()
    identity = ids.column("identity") if config.keep_checked_ids_apart else None
    result = _clusters(ids.column("record_id"), edges, config, decisions, identity)
    result.model = linker.misc.save_model_to_json()
    timer.lap("cluster", t)
    result.timings = {**timer.timings, "total": round(time.perf_counter() - start, 3)}
    return result


def _no_edges(config: LinkConfig) -> pa.Table:
    """An empty table of scored pairs, shaped like the one ``predict`` gives."""
    columns = {"record_id_l": pa.string(), "record_id_r": pa.string(), "pos_l": pa.int64(),
               "pos_r": pa.int64(), "match_probability": pa.float64(),
               "match_weight": pa.float64()}
    columns.update({f"gamma_{c.field}": pa.int32() for c in config.comparisons})
    return pa.table({name: pa.array([], kind) for name, kind in columns.items()})


def recluster(result: LinkResult, decisions: Iterable[Decision]) -> LinkResult:
    """Cluster the same scored pairs again under other decisions (merge, un-merge, revoke)."""
    t = time.perf_counter()
    again = _clusters(result.clusters.column("record_id"), result.edges, result.config,
                      list(decisions), result.identity)
    again.model = result.model
    again.timings = {"cluster": round(time.perf_counter() - t, 3)}
    return again


def _codes(labels: dict[str, dict[int, str]], name: str, wanted: tuple[str, ...]) -> list[int]:
    if name not in labels or not set(wanted) <= set(labels[name].values()):
        raise ValueError(f"merge rule names unknown field or level: {name} {wanted}")
    return [code for code, label in labels[name].items() if label in wanted]


def _held_back(config: LinkConfig, labels: dict[str, dict[int, str]],
               gamma: dict[str, np.ndarray]) -> np.ndarray:
    """Per pair, why it may not merge on its own ("" when it may): the rules in config."""
    size = len(next(iter(gamma.values()))) if gamma else 0
    reason = np.full(size, "", dtype=object)
    if config.merge_requires_any:
        person = np.zeros(size, dtype=bool)
        for name, wanted in config.merge_requires_any:
            person |= np.isin(gamma[name], _codes(labels, name, wanted))
        reason[~person] = "no agreement on the person: " + ", ".join(
            name for name, _ in config.merge_requires_any)
    for name, level in config.merge_vetoes:
        reason[np.isin(gamma[name], _codes(labels, name, (level,)))] = f"{name}: {level}"
    return reason


def _clusters(record_ids: pa.ChunkedArray, edges: pa.Table, config: LinkConfig,
              decisions: list[Decision], identity: pa.ChunkedArray | None) -> LinkResult:
    ids = np.asarray(record_ids.to_numpy(zero_copy_only=False), dtype=object)
    decided = latest_per_pair(decisions)
    merges = [d for d in decided if d.verdict == Verdict.MERGE]
    apart = [d for d in decided if d.verdict == Verdict.KEEP_APART]
    index = {rid: i for i, rid in enumerate(ids.tolist())} if decided else {}

    def positions(ds: list[Decision]) -> list[tuple[int, int]]:
        out = []
        for d in ds:
            for rid in (d.record_a, d.record_b):
                if rid not in index:
                    raise ValueError(f"decision: unknown record_id {rid!r}")
            out.append((index[d.record_a], index[d.record_b]))
        return out

    prob = edges.column("match_probability").to_numpy()
    labels = {c.field: _level_labels(c) for c in config.comparisons}
    gamma = {f: edges.column(f"gamma_{f}").to_numpy() for f in labels}
    likely = prob >= config.merge_threshold
    held = _held_back(config, labels, gamma)
    strong = likely & (held == "")
    left = edges.column("pos_l").to_numpy()
    right = edges.column("pos_r").to_numpy()
    roots, conflict_idx = cluster(len(ids), left[strong], right[strong], positions(merges),
                                  positions(apart),
                                  identity.to_pylist() if identity is not None else None)
    clusters = pa.table({"record_id": pa.array(ids, pa.string()),
                         "cluster_id": pa.array(ids[roots], pa.string())})
    conflicts = [Conflict(apart[i], "records already joined by merge decisions")
                 for i in conflict_idx]

    # The review queue: uncertain (or held back) pairs whose records ended in different
    # clusters and that no steward has decided yet.
    decided_pairs = {d.pair for d in decided}
    apart_now = roots[left] != roots[right]
    band = np.nonzero(apart_now)[0]
    weight = edges.column("match_weight").to_numpy()
    review = []
    for i in band.tolist():
        a, b = ids[left[i]], ids[right[i]]
        if (min(a, b), max(a, b)) in decided_pairs:
            continue
        if len(review) == config.max_review_pairs:
            break
        review.append(ReviewPair(
            record_a=a, record_b=b, probability=float(prob[i]), match_weight=float(weight[i]),
            agreement={f: labels[f].get(int(gamma[f][i]), str(gamma[f][i])) for f in labels},
            held_back=str(held[i]) if likely[i] and held[i] else (
                BRIDGE_REFUSED if strong[i] else "")))
    truncated = max(0, len(band) - len(review)) if len(review) == config.max_review_pairs else 0
    return LinkResult(clusters=clusters, review=review, edges=edges, conflicts=conflicts,
                      config=config, model={}, review_truncated=truncated,
                      pairs_scored=edges.num_rows, identity=identity)
