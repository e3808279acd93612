"""Column mapping — 字段映射: which column of a department's file is which standard field.

A file's headers are the department's words (身份证号, 公民身份号码, 证件号码 …); the registry
keeps standard fields (``catalog.fields``). The mapping says, for each header, the standard
field it holds or "" to ignore the column. It is proposed — the source's saved mapping first,
then the synonyms declared in ``synonyms.json`` — confirmed by the steward and saved to the
``ImportSource`` on commit, so the next file from the same source maps itself.

``check_mapping`` refuses a mapping before any row is read: a field that is not one of the
dataset's, a field mapped from two columns, a required field left without a column, or no
key column. Every message names the field (and the columns) at fault.

The key column identifies a row across imports (re-importing updates, never duplicates). By
default it is the column mapped to the ID number; any other column may be chosen, mapped or
not (a department's own record number, say).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils.translation import gettext as _

from wangge.catalog.fields import get_field, standard_fields

IGNORE = ""
DEFAULT_KEY_FIELD = "id_number"
SYNONYMS_FILE = Path(__file__).with_name("synonyms.json")


@dataclass(frozen=True)
class FieldSpec:
    """One field of the target dataset."""

    code: str
    required: bool

    @property
    def label(self) -> str:
        return get_field(self.code).label


@dataclass(frozen=True)
class MappingProblem:
    """Why a mapping is refused; ``field`` and ``column`` name what is at fault."""

    message: str
    field: str = ""
    column: str = ""


def dataset_fields(dataset) -> list[FieldSpec]:
    """The dataset's standard fields in its order, with their required flags."""
    return [FieldSpec(f.field_code, f.required)
            for f in dataset.fields.all().order_by("position", "id")]


def normalise_header(text: str) -> str:
    """A header as compared with synonyms: NFKC, no spaces or marks, lower-case."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return re.sub(r"[\s*＊:：()（）\[\]【】_\-]|必填|选填", "", text)


@cache
def synonyms() -> dict[str, str]:
    """Normalised header → standard field code (declared synonyms, codes and labels)."""
    raw = json.loads(SYNONYMS_FILE.read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for code, spec in standard_fields().items():
        for text in (code, spec.label_zh, spec.label_en):
            out.setdefault(normalise_header(text), code)
    for code, words in raw.items():
        if code.startswith("_"):
            continue
        get_field(code)  # a typo in the data file fails loudly, not silently unmatched
        for word in words:
            out[normalise_header(word)] = code
    return out


def suggest(headers: Sequence[str], codes: Iterable[str]) -> dict[str, str]:
    """Each header's suggested field among ``codes`` (the dataset's), each field at most
    once (the leftmost column wins), or "" when nothing matches."""
    allowed, taken = set(codes), set()
    table = synonyms()
    out = {}
    for header in headers:
        code = table.get(normalise_header(header), IGNORE)
        if code in allowed and code not in taken:
            out[header] = code
            taken.add(code)
        else:
            out[header] = IGNORE
    return out


def propose(headers: Sequence[str], codes: Iterable[str],
            saved: Mapping[str, str] | None = None) -> dict[str, str]:
    """The mapping shown first: the saved choice for headers the source has sent before,
    suggestions for the others (never a field the saved part already uses)."""
    allowed = set(codes)
    saved = {h: c for h, c in (saved or {}).items() if h in headers and c in allowed | {IGNORE}}
    fresh = suggest([h for h in headers if h not in saved], allowed - set(saved.values()))
    return {h: saved[h] if h in saved else fresh[h] for h in headers}


def default_key_column(headers: Sequence[str], mapping: Mapping[str, str],
                       saved_key: str = "") -> str:
    """The saved key column when the file has it, else the column mapped to the ID number,
    else "" (the steward must choose)."""
    if saved_key and saved_key in headers:
        return saved_key
    return next((h for h in headers if mapping.get(h) == DEFAULT_KEY_FIELD), "")


def key_to_save(mapping: Mapping[str, str], key_column: str) -> str:
    """What ``ImportSource.key_field`` keeps: "" when the key is the ID number column (its
    documented default), else the column's header."""
    return "" if mapping.get(key_column) == DEFAULT_KEY_FIELD else key_column


def check_mapping(headers: Sequence[str], mapping: Mapping[str, str], key_column: str,
                  fields: Sequence[FieldSpec]) -> list[MappingProblem]:
    """Everything wrong with the mapping (empty when it can be used)."""
    problems: list[MappingProblem] = []
    known = {f.code: f for f in fields}
    columns_of: dict[str, list[str]] = {}
    for header in headers:
        code = mapping.get(header, IGNORE)
        if code == IGNORE:
            continue
        if code not in known:
            problems.append(MappingProblem(
                _("column “%(column)s”: %(field)s is not a field of this dataset")
                % {"column": header, "field": code[:40]}, field=code[:40], column=header))
            continue
        columns_of.setdefault(code, []).append(header)
    for code, columns in columns_of.items():
        if len(columns) > 1:
            problems.append(MappingProblem(
                _("%(field)s is mapped from %(n)d columns (%(columns)s); map it from one")
                % {"field": known[code].label, "n": len(columns),
                   "columns": "、".join(f"“{c}”" for c in columns)},
                field=code, column=columns[1]))
    for spec in fields:
        if spec.required and spec.code not in columns_of:
            problems.append(MappingProblem(
                _("%(field)s is required in this dataset but no column is mapped to it")
                % {"field": spec.label}, field=spec.code))
    if not key_column:
        problems.append(MappingProblem(
            _("choose the key column: the column that identifies a row (by default the one "
              "mapped to the ID number)"), field="key"))
    elif key_column not in headers:
        problems.append(MappingProblem(
            _("the key column “%(column)s” is not in this file") % {"column": key_column[:40]},
            field="key", column=key_column))
    return problems
