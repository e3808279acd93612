"""Resident identity numbers — 居民身份证号码 (GB 11643-1999): check digit and old numbers.

The linkage engine and the synthetic population need the same arithmetic: 18-character numbers
end with a check character computed from the first 17 digits (ISO 7064 MOD 11-2), and the
15-digit numbers issued before 1999 are upgraded by inserting the century and a check
character. Validation of user input (dates, region codes) belongs to the registry's privacy
layer; this module only knows the number's arithmetic.
"""

from __future__ import annotations

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError(f"need 17 digits, got {first17!r}")
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def is_valid(number: str) -> bool:
    """Whether an 18-character number has the right shape and check character."""
    return (len(number) == 18 and number[:17].isdigit()
            and number[17].upper() == check_char(number[:17]))


def upgrade_15(number: str) -> str:
    """An old 15-digit number as the 18-character number it became (born in the 1900s)."""
    if len(number) != 15 or not number.isdigit():
        raise ValueError(f"need 15 digits, got {number!r}")
    first17 = number[:6] + "19" + number[6:]
    return first17 + check_char(first17)


# The same arithmetic as a DuckDB macro, so a million numbers are upgraded in SQL.
DUCKDB_MACROS = (
    "CREATE OR REPLACE TEMP MACRO gb11643_check(d17) AS "
    "substr('" + CHECK_CHARS + "', (list_sum(list_transform(range(17), "
    "lambda i: CAST(substr(d17, i + 1, 1) AS INTEGER) * "
    f"({list(WEIGHTS)})[i + 1])) % 11)::BIGINT + 1, 1)",
)
