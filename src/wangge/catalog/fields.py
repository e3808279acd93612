"""Standard fields — 标准字段: what each catalogue field means and how a value is checked.

Declared once as data (``data/standard_fields.json``) and read here. Imports map a file's
columns to these codes, datasets list them, collection forms ask for them and the registry's
provenance is kept per code. ``clean_value`` is the one check every path uses: a value comes
back normalised, or ``InvalidValue`` says in the reader's words what is wrong with it.
Protected fields (``protected:<kind>``) are checked by the privacy kind (ID check digit,
phone number plan …); their clean value must then be sealed, never stored as is.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from wangge.privacy import kinds
from wangge.privacy.errors import InvalidValue

DATA_FILE = Path(__file__).parent / "data" / "standard_fields.json"
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d")
TEXT_MAX = 200
# Spellings departments use for the choice values (lower-cased), beside the codes themselves.
CHOICE_ALIASES = {"男": "male", "m": "male", "1": "male", "女": "female", "f": "female",
                  "2": "female", "是": "yes", "y": "yes", "true": "yes", "否": "no", "n": "no",
                  "false": "no", "户籍": "registered", "流动": "floating", "境外": "foreign"}


@dataclass(frozen=True)
class StandardField:
    """One catalogue field (``code`` is what mappings, datasets and forms store)."""

    code: str
    entity: str  # person | house | organisation | place | any
    label_zh: str
    label_en: str
    kind: str  # text | date | choice | int | float | protected:<privacy kind>
    valid_days: int | None
    max_length: int = TEXT_MAX
    choices: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.label_en if (get_language() or "").startswith("en") else self.label_zh

    @property
    def protected_kind(self) -> str | None:
        """The privacy kind when the value is personal data kept sealed, else None."""
        return self.kind.split(":", 1)[1] if self.kind.startswith("protected:") else None

    def choice_label(self, code: str) -> str:
        return self.choices.get(code, code)


@cache
def standard_fields() -> dict[str, StandardField]:
    """Every standard field by code, in the order the data file declares them."""
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    out: dict[str, StandardField] = {}
    for item in raw["fields"]:
        out[item["code"]] = StandardField(
            code=item["code"], entity=item["entity"], label_zh=item["label"],
            label_en=item["label_en"], kind=item["kind"], valid_days=item.get("valid_days"),
            max_length=item.get("max_length", TEXT_MAX), choices=item.get("choices", {}))
    return out


def get_field(code: str) -> StandardField:
    try:
        return standard_fields()[code]
    except KeyError:
        raise InvalidValue(_("%(code)s is not a standard field of the catalogue")
                           % {"code": code[:40]}) from None


def _parse_date(text: str) -> datetime.date:
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise InvalidValue(_("%(value)s is not a date (write it as 1985-03-07)")
                       % {"value": text[:20]})


def clean_value(code: str, raw: object) -> str:
    """The normalised text of ``raw`` for field ``code`` ("" when empty).

    Dates come back as ISO ``YYYY-MM-DD``, choices as their code, numbers as plain digits,
    protected values in the privacy kind's normal form (still to be sealed by the caller).
    """
    spec = get_field(code)
    text = "" if raw is None else str(raw).strip()
    if not text:
        return ""
    if spec.protected_kind:
        return kinds.clean(spec.protected_kind, text)
    if spec.kind == "date":
        day = _parse_date(text)
        if day > datetime.date.today() or day.year < 1900:
            raise InvalidValue(_("%(value)s is not a plausible date") % {"value": text[:20]})
        return day.isoformat()
    if spec.kind == "choice":
        key = text.lower()
        key = CHOICE_ALIASES.get(key, key)
        reverse = {label: code_ for code_, label in spec.choices.items()}
        key = reverse.get(text, key)
        if key not in spec.choices:
            raise InvalidValue(_("%(value)s is not one of: %(choices)s")
                               % {"value": text[:20],
                                  "choices": "、".join(spec.choices.values())})
        return key
    if spec.kind == "int":
        try:
            number = int(float(text))
        except ValueError:
            raise InvalidValue(_("%(value)s is not a whole number") % {"value": text[:20]}) \
                from None
        if number < 0:
            raise InvalidValue(_("%(value)s is negative") % {"value": text[:20]})
        return str(number)
    if spec.kind == "float":
        try:
            return repr(float(text))
        except ValueError:
            raise InvalidValue(_("%(value)s is not a number") % {"value": text[:20]}) from None
    if len(text) > spec.max_length:
        raise InvalidValue(_("at most %(max)d characters, not %(n)d")
                           % {"max": spec.max_length, "n": len(text)})
    return text


def display_value(code: str, value: str) -> str:
    """What a page shows for a stored clean value: masked when protected, labelled choices."""
    spec = get_field(code)
    if not value:
        return ""
    if spec.protected_kind:
        return kinds.mask(spec.protected_kind, value)
    if spec.kind == "choice":
        return spec.choice_label(value)
    return value
