"""A person's exact address — 详细住址: tidy, check, mask to the building.

A Chinese address runs from the largest place to the smallest: province, city, district,
street, road and number, estate (小区/村), building (楼栋), unit (单元), room (室). The mask
keeps the address down to the most precise of these levels it can recognise, and hides what
follows — the unit and room, which single out a household:

====================================================  =================================
山东省济南市历下区阳光花园3号楼2单元501室            山东省济南市历下区阳光花园3号楼***
历下区文化东路幸福小区12-3-501                       历下区文化东路幸福小区***
历城区港沟街道东风村128号                            历城区港沟街道东风村***
历下区解放路123号                                   历下区解放路***
====================================================  =================================

``MASK_LEVELS`` lists the levels, most precise first; the first level found with something
after it decides where the cut falls. An address with none of the markers shows only
``***``: hiding too much is the safe mistake.
"""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import gettext as _

from .errors import InvalidValue

ADDRESS_MAX = 200
HIDDEN = "***"
MASK_LEVELS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("building", re.compile(r"(号楼|栋|幢|座)")),  # 楼栋
    ("estate", re.compile(r"(小区|社区|花园|家园|新村|公寓|大厦|村|苑|院)")),  # 小区、村
    ("road", re.compile(r"(大道|大街|路|街|巷|胡同|弄)")),  # 路、街、巷
    ("division", re.compile(r"(街道|镇|乡|区|县|市|省)")),  # 行政区划
)


def normalise_address(raw: str) -> str:
    """Full-width letters and digits to half-width, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", raw or "")
    return re.sub(r"\s+", " ", text).strip()


def validate_address(value: str) -> None:
    if len(value) > ADDRESS_MAX:
        raise InvalidValue(_("an address has at most %(max)d characters, not %(n)d")
                           % {"max": ADDRESS_MAX, "n": len(value)})
    if not re.search(r"[0-9\u4e00-\u9fff]", value):
        raise InvalidValue(_("an address names a place (Chinese characters or numbers)"))


def mask_address(value: str) -> str:
    """Keep the address down to its building (or estate, road, division); hide the rest."""
    if not value:
        return ""
    for _level, pattern in MASK_LEVELS:
        ends = [m.end() for m in pattern.finditer(value)]
        if ends and ends[-1] < len(value):
            return value[:ends[-1]] + HIDDEN
        if ends:  # nothing below this level was given: nothing to hide
            return value
    return HIDDEN
