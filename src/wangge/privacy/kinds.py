"""Protected values declared as data — 受保护的个人信息: what each kind is and how it is kept.

Each ``Kind`` says how a typed value is normalised (the form indexes are computed on), how
it is checked (strictly, with a message naming what is wrong), how it is masked (what pages,
API answers and exports show) and under which purpose its blind index is kept. Every
protected value is stored as three things and never in clear:

- ``<f>_cipher``: the value sealed by ``crypto.encrypt`` for the kind (its code is the
  encryption purpose), under the current key — re-sealed by ``wangge rotate-key``;
- ``<f>_index``: the keyed blind index of the normalised value (``blind``), to find records
  by an exact value, equal across departments and key rotations;
- ``<f>_masked``: the masked form, the only one shown by default.

A model declares a protected value with ``ProtectedField`` (``wangge.privacy.fields``),
which adds the three columns and an attribute that protects on assignment and reads masked::

    from wangge.privacy.fields import ProtectedField

    class Person(models.Model):
        scope_path_field = "region_path"          # reveals are scoped like every fetch
        id_number = ProtectedField("id_number", _("ID number"))
        phone = ProtectedField("phone")
        address = ProtectedField("address", _("address"))

    p = Person(id_number="370102199003071234", region_path=grid.path)   # checked, sealed
    p.id_number                     # "3701**********1234" (masked; never the clear value)
    p.id_number_index               # blind index, e.g. for a unique constraint
    Person.objects.filter(Person.id_number.lookup("370102 19900307 1234"))  # find by value
    reveal(user, p, "id_number", "visit", detail="入户核实")  # services: audited

The class gets ``protected_fields = {"id_number": "id_number", …}`` (field → kind), which is
what reveal, the reveal API and ``rotate-key`` read. A model that keeps the three columns by
hand (same names) declares that attribute itself.

Masks: ``3701**********1234`` (ID: first 4 and last 4), ``138****5678`` (phone),
``…阳光花园3号楼***`` (address down to the building, see ``addresses``), ``张*明`` (name).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import addresses, crypto, idnumbers, phones
from .blind import blind_index
from .errors import InvalidValue

NAME_MAX = 60


def _normalise_name(raw: str) -> str:
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", raw or "")).strip()
    # Spaces inside a Chinese name are typing noise: 张 三 is 张三.
    return re.sub(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])", "", text)


def _validate_name(value: str) -> None:
    if len(value) > NAME_MAX:
        raise InvalidValue(_("a name has at most %(max)d characters, not %(n)d")
                           % {"max": NAME_MAX, "n": len(value)})
    if re.search(r"[0-9@#$%^&*_=+<>{}\[\]|\\/]", value):
        raise InvalidValue(_("a name has no digits or symbols"))


def _mask_name(value: str) -> str:
    """张三 → 张*, 张小明 → 张*明: the family name and the last character."""
    if len(value) <= 1:
        return "*" * len(value)
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def _mask_phone(value: str) -> str:
    return phones.mask_digits(value)


@dataclass(frozen=True)
class Kind:
    """One kind of protected value and its rules."""

    code: str  # also the encryption purpose bound into every token
    label: str | Promise
    normalise: Callable[[str], str]
    validate: Callable[[str], None]  # on the normalised value; raises InvalidValue
    mask: Callable[[str], str]
    index_purpose: str  # blind-index purpose: the same for every model holding this kind
    masked_length: int  # the masked column's width
    # False for a sealed bundle of several values (a source row): it is re-sealed by key
    # rotation like any token, but never revealed whole — reveals name one field.
    revealable: bool = True


KINDS: dict[str, Kind] = {k.code: k for k in (
    Kind("id_number", gettext_lazy("ID number"),  # 居民身份证号
         idnumbers.normalise_id_number, idnumbers.validate_id_number,
         idnumbers.mask_id_number, "id_number", 18),
    # The "phone" index purpose is the one accounts and cases already use, so a person's
    # phone in the registry finds her account and the cases filed for her.
    Kind("phone", gettext_lazy("phone"),  # 联系电话
         phones.phone_digits, phones.validate_phone, _mask_phone, "phone", 20),
    Kind("address", gettext_lazy("exact address"),  # 详细住址
         addresses.normalise_address, addresses.validate_address, addresses.mask_address,
         "address", addresses.ADDRESS_MAX + len(addresses.HIDDEN)),
    Kind("name", gettext_lazy("full name"),  # 姓名
         _normalise_name, _validate_name, _mask_name, "name", NAME_MAX),
    # A registry source row's clean values as one sealed JSON object (``registry.records``).
    Kind("record", gettext_lazy("source record"), str, lambda _value: None,
         lambda _value: "***", "record", 3, revealable=False),
)}


def get_kind(kind: str | Kind) -> Kind:
    if isinstance(kind, Kind):
        return kind
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown protected kind {kind!r}; one of {', '.join(KINDS)}") \
            from None


@dataclass(frozen=True)
class Protected:
    """What is stored for one value: the sealed token, the blind index, the mask."""

    cipher: str
    index: str
    masked: str


EMPTY = Protected("", "", "")


def clean(kind: str | Kind, raw: str) -> str:
    """The normalised, checked value (``InvalidValue`` naming what is wrong)."""
    spec = get_kind(kind)
    value = spec.normalise(raw)
    if value:
        spec.validate(value)
    return value


def protect(kind: str | Kind, raw: str) -> Protected:
    """Check ``raw`` and turn it into what is stored. Empty input stores nothing."""
    spec = get_kind(kind)
    value = clean(spec, raw)
    if not value:
        return EMPTY
    return Protected(crypto.encrypt(value, spec.code), blind_index(spec.index_purpose, value),
                     spec.mask(value))


def index_for(kind: str | Kind, raw: str) -> str:
    """The blind index to search by what someone typed (lenient: a value that cannot be read
    has no index and so finds nothing)."""
    spec = get_kind(kind)
    try:
        value = spec.normalise(raw)
    except InvalidValue:
        return ""
    return blind_index(spec.index_purpose, value)


def mask(kind: str | Kind, raw: str) -> str:
    """The masked form of a typed value (e.g. an import preview), without sealing it."""
    spec = get_kind(kind)
    try:
        return spec.mask(spec.normalise(raw))
    except InvalidValue:
        return "***" if raw else ""


def open_cipher(kind: str | Kind, cipher: str) -> str:
    """The clear value of a stored token. Only ``services.reveal`` (checked, audited) and
    ``rotate-key`` call this; pages and exports show the mask."""
    if not cipher:
        return ""
    return crypto.decrypt(cipher, get_kind(kind).code)
