"""Source rows, sealed — 来源记录的加密存储: the one way a row's values are kept and read.

A department's row arrives as clean values of standard fields (``catalog.fields.clean_value``).
It is stored as:

- one sealed JSON object (``payload_cipher``, privacy kind "record": re-sealed by
  ``rotate-key``, never revealed whole);
- ``masked``: the same object with protected values masked and the rest as they are — what
  pages, the API and exports show of a source row;
- keyed blind indexes of the ID number, phone and name, to find rows by an exact value;
- ``row_hash``: a keyed hash of the whole row, so an unchanged row re-imported is a no-op
  (keyed, because a plain hash of an ID number is easy to guess back).

Clear values exist in memory only: ``open_values`` for linkage, survivorship, a steward's
audited reveal or a person's export of her own data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from wangge.catalog.fields import get_field
from wangge.privacy import crypto, kinds
from wangge.privacy.blind import blind_index

RECORD_KIND = "record"
ROW_HASH_PURPOSE = "registry.row"
INDEXED = {"id_number": "id_number", "phone": "phone", "name": "name"}


@dataclass(frozen=True)
class Sealed:
    """What is stored for one row's clean values."""

    payload_cipher: str
    masked: dict[str, str]
    id_number_index: str
    phone_index: str
    name_index: str
    row_hash: str


def canonical(values: Mapping[str, str]) -> str:
    """The row as one stable text: non-empty values, keys sorted."""
    return json.dumps({k: v for k, v in sorted(values.items()) if v}, ensure_ascii=False,
                      separators=(",", ":"))


def mask_values(values: Mapping[str, str]) -> dict[str, str]:
    out = {}
    for code, value in values.items():
        if not value:
            continue
        kind = get_field(code).protected_kind
        out[code] = kinds.get_kind(kind).mask(value) if kind else value
    return out


def seal(values: Mapping[str, str]) -> Sealed:
    """Seal clean values (already checked by ``clean_value``)."""
    text = canonical(values)
    indexes = {col: blind_index(kinds.get_kind(kind).index_purpose, values.get(col, ""))
               for col, kind in INDEXED.items()}
    return Sealed(
        payload_cipher=crypto.encrypt(text, RECORD_KIND) if text != "{}" else "",
        masked=mask_values(values),
        id_number_index=indexes["id_number"], phone_index=indexes["phone"],
        name_index=indexes["name"],
        row_hash=blind_index(ROW_HASH_PURPOSE, text))


def apply(record, sealed: Sealed) -> None:
    """Copy ``sealed`` onto a ``SourceRecord`` (not saved)."""
    record.payload_cipher = sealed.payload_cipher
    record.masked = sealed.masked
    record.id_number_index = sealed.id_number_index
    record.phone_index = sealed.phone_index
    record.name_index = sealed.name_index
    record.row_hash = sealed.row_hash


def open_values(record) -> dict[str, str]:
    """The clear values of a ``SourceRecord``, in memory. Callers that show them to a person
    go through an audited path (reveal, own-data export)."""
    if not record.payload_cipher:
        return {}
    return json.loads(crypto.decrypt(record.payload_cipher, RECORD_KIND))
