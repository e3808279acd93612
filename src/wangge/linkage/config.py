"""The linkage model declared as data — 匹配规则: features, blocking, comparisons, thresholds.

One place says how records are compared, so a data steward's question "why were these two
linked?" is answered by reading this file and the trained weights, not code paths. The engine
(``engine.py``) turns these declarations into Splink settings; nothing else decides.

Columns named here are the *prepared* features (``prepare.py``): ``name`` without spaces,
``name_py`` its toneless pinyin, ``surname_py``/``given_py`` its parts, ``id_number`` as 18
characters (old 15-digit numbers upgraded) and ``id_checked`` (an 18-character number whose
check character is right), ``id_number_sorted`` its first 17 digits sorted (a transposition
keeps them), ``birth_date`` (from the field, else from the ID), ``sex``, ``phone`` as 11
digits (``phone_sorted`` likewise), ``address`` normalised and its ``community``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    """One comparison level: a label a steward reads, the SQL condition on ``_l``/``_r``
    columns, and ``m``: the share of true matches believed to fall here before training
    (kept when a small population never shows the level)."""

    label: str
    sql: str
    m: float
    # Weigh agreement by how common the value is (term frequency): two records of 王磊 born
    # the same day are weaker evidence than two of 欧阳晓琳. Names only: the column named.
    tf_column: str | None = None
    # The share of pairs of *different* people falling here, believed before training: the
    # model as it stands when the population is too small to estimate it (``LinkConfig.
    # train_min_records``); a city-wide estimate otherwise replaces it.
    u: float = 0.0


@dataclass(frozen=True)
class Comparison:
    """How one field of two records is compared: a null test, then levels, best first."""

    field: str
    null_sql: str
    levels: tuple[Level, ...]
    else_m: float
    else_label: str = "differs"

    @property
    def else_u(self) -> float:
        """Different people mostly differ: what the levels leave of u."""
        return 1.0 - sum(lv.u for lv in self.levels)


@dataclass(frozen=True)
class LinkConfig:
    """Everything that decides a linkage run. Thresholds are match probabilities."""

    comparisons: tuple[Comparison, ...]
    blocking_rules: tuple[tuple[str, ...], ...]  # each: columns that must be equal
    training_rules: tuple[tuple[str, ...], ...]  # EM runs, each blocked on these columns
    deterministic_rules: tuple[tuple[str, ...], ...]  # for the prior: near-certain matches
    deterministic_recall: float  # share of true pairs those rules are believed to find
    # A pair merges on its own only with evidence about the *person*: at least one of these
    # (field, levels) — phone and address are shared by a household — and none of the vetoes.
    merge_requires_any: tuple[tuple[str, tuple[str, ...]], ...] = ()
    merge_vetoes: tuple[tuple[str, str], ...] = ()
    # Records with two different *checked* ID numbers (``id_checked``) never end in one
    # cluster on the model's word, not even through a third record without a number.
    keep_checked_ids_apart: bool = True
    merge_threshold: float = 0.99  # at or above: the same person
    review_threshold: float = 0.5  # from here up to merge_threshold: a steward decides
    u_max_pairs: float = 2e6  # random pairs sampled to estimate u
    seed: int = 42  # for the u sample: the same data gives the same model
    threads: int | None = None  # DuckDB threads; None: all cores
    max_review_pairs: int = 100_000  # a queue longer than this is cut (lowest first)
    # The prior (probability that two random records match) is estimated from the
    # deterministic rules; in a small population (a new district, a test) those rules can
    # find nearly every pair, and an estimate near 1 would merge anything. It is capped here.
    max_prior: float = 0.1
    # Below this many records random pairs are too often true matches to estimate u from,
    # and too few to train m on: the declared m and u are used as they are.
    train_min_records: int = 200


# SQL helpers the comparisons use, created on the engine's DuckDB connection. DuckDB's
# levenshtein counts UTF-8 bytes (a Chinese character is three), so "one character" is
# spelled out on characters here.
SQL_MACROS: tuple[str, ...] = (
    """CREATE OR REPLACE TEMP MACRO one_char_apart(a, b) AS CASE
        WHEN length(a) = length(b) THEN len(list_filter(range(1, length(a) + 1),
            lambda i: substr(a, i, 1) <> substr(b, i, 1))) = 1
        WHEN length(a) = length(b) + 1 THEN list_contains(list_transform(range(length(a)),
            lambda k: substr(a, 1, k) || substr(a, k + 2) = b), true)
        WHEN length(b) = length(a) + 1 THEN list_contains(list_transform(range(length(b)),
            lambda k: substr(b, 1, k) || substr(b, k + 2) = a), true)
        ELSE false END""",
)


def _null(column: str) -> str:
    return f'"{column}_l" IS NULL OR "{column}_r" IS NULL'


def _one_slip(column: str, width: int) -> str:
    """One character wrong, or two swapped, among the first ``width`` characters.

    Two swapped characters leave the sorted characters (the ``_sorted`` feature) unchanged.
    Cheaper than Damerau–Levenshtein, which costs DuckDB microseconds per pair of 18-digit
    numbers. For ID numbers ``width`` is 17: the check character follows from the others,
    so a slip in an old 15-digit number changes it too once the number is upgraded.
    """
    left, right = f'left("{column}_l", {width})', f'left("{column}_r", {width})'
    sorted_l, sorted_r = f'"{column}_sorted_l"', f'"{column}_sorted_r"'
    return (f"length({left}) = length({right}) AND (hamming({left}, {right}) = 1 OR "
            f"(hamming({left}, {right}) = 2 AND {sorted_l} = {sorted_r}))")


COMPARISONS: tuple[Comparison, ...] = (
    Comparison("name", _null("name"), (
        Level("exact", '"name_l" = "name_r"', 0.88, tf_column="name", u=5e-4),
        Level("same pinyin", '"name_py_l" = "name_py_r"', 0.06, u=5e-4),  # 同音字: homophone typo
        Level("one character differs", 'one_char_apart("name_l", "name_r")', 0.04, u=1e-3),
        Level("similar pinyin",
              'jaro_winkler_similarity("name_py_l", "name_py_r") >= 0.88', 0.01, u=2e-3),
    ), else_m=0.01),
    Comparison("id_number", _null("id_number"), (
        Level("exact", '"id_number_l" = "id_number_r"', 0.95, u=1e-7),
        # Two *valid* numbers one digit apart are two people (twins, or neighbours in the
        # police station's sequence): the check character would have caught a slip.
        Level("one digit wrong or two swapped",
              f'{_one_slip("id_number", 17)} AND NOT ("id_checked_l" AND "id_checked_r")', 0.04,
              u=1e-5),
    ), else_m=0.01),
    Comparison("birth_date", _null("birth_date"), (
        Level("exact", '"birth_date_l" = "birth_date_r"', 0.97, u=4e-5),
        Level("one day off or month/day swapped",
              'abs(date_diff(\'day\', "birth_date_l", "birth_date_r")) <= 1 OR '
              '(month("birth_date_l") = day("birth_date_r") AND '
              'day("birth_date_l") = month("birth_date_r") AND '
              'year("birth_date_l") = year("birth_date_r"))', 0.02, u=1.2e-4),
    ), else_m=0.01),
    Comparison("sex", _null("sex"), (
        Level("exact", '"sex_l" = "sex_r"', 0.99, u=0.5),
    ), else_m=0.01),
    # Phone and address together: both belong to a household as much as to a person, and
    # family members share them. Weighed as two independent facts they would count the same
    # household evidence twice and merge parents with children.
    Comparison("contact", '("phone_l" IS NULL AND "address_l" IS NULL) OR '
                          '("phone_r" IS NULL AND "address_r" IS NULL)', (
        Level("phone and address agree", '"phone_l" = "phone_r" AND "address_l" = "address_r"',
              0.6, u=1e-5),
        Level("phone agrees", '"phone_l" = "phone_r"', 0.15, u=2e-5),
        Level("phone: one digit wrong or two swapped", _one_slip("phone", 11), 0.02, u=1e-5),
        Level("address agrees", '"address_l" = "address_r"', 0.15, u=1e-4),
        Level("same community", '"community_l" = "community_r"', 0.02, u=0.01),
    ), else_m=0.06),
)

DEFAULT_CONFIG = LinkConfig(
    comparisons=COMPARISONS,
    blocking_rules=(
        ("id_number",),
        ("phone",),
        ("name", "birth_date"),
        ("name_py", "birth_date"),  # homophone typos: same sound, same birthday
        ("surname_py", "birth_date"),  # a typo in the given name
        ("given_py", "birth_date"),  # a typo in the surname
        ("id_number_sorted",),  # transposed digits in the ID number
        ("phone_sorted", "surname_py"),  # transposed digits in the phone
        ("name", "address"),  # no ID, a stale phone, a slip in the birth date
    ),
    training_rules=(("id_number",), ("name_py", "birth_date")),
    deterministic_rules=(("id_number",), ("name", "birth_date", "phone")),
    deterministic_recall=0.8,
    merge_requires_any=(
        ("name", ("exact", "same pinyin")),
        ("id_number", ("exact", "one digit wrong or two swapped")),
    ),
    # Two different ID numbers are two people unless a steward says otherwise (twins share
    # a birthday, a surname, a home and often a phone).
    merge_vetoes=(("id_number", "differs"),),
)
