"""Master persons as linkage creates, fills and removes them — 主记录的增删.

Shared by the ID attach, the linkage run and a steward's merge / un-merge, so that "a new
person", "refresh after rows moved" and "a person left without rows" mean the same
everywhere.

A person left without rows is removed — unless something still refers to it: an erasure
request (the workflow must be able to finish), a tag a person added by hand (a fact about
the person no source gave), or any protected reference (a collection form's target). Then it
is kept, emptied of values, and the caller says so.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext_lazy as _

from ..models import ErasureRequest, Person, PersonStatus, PersonTag, SourceRecord
from ..survivorship import refresh_person

# Why an empty person was kept (code → what a steward reads).
KEPT_BECAUSE = {
    "erasure_request": _("an erasure request refers to it"),
    "manual_tag": _("a tag added by hand refers to it"),
    "referenced": _("a collection form refers to it"),
}


def new_person(region_id: int | None) -> Person:
    """A new, empty person placed in a row's grid (survivorship fills it)."""
    return Person.objects.create(region_id=region_id)


def refresh(person_ids: Iterable[int]) -> list[int]:
    """Recompute persons (locked, in pk order) from their rows; returns those left empty."""
    empty = []
    for pk in sorted(set(person_ids)):
        person = Person.objects.select_for_update().filter(pk=pk).first()
        if person is None:
            continue
        refresh_person(person)
        if not SourceRecord.objects.filter(person_id=pk).exists():
            empty.append(pk)
    return empty


def keep_reason(person_id: int) -> str:
    """Why an empty person must stay ("" when nothing refers to it)."""
    if ErasureRequest.objects.filter(person_id=person_id).exists():
        return "erasure_request"
    if PersonTag.objects.filter(person_id=person_id, dataset__isnull=True).exists():
        return "manual_tag"
    return ""


def remove_if_empty(person_id: int) -> tuple[bool, str]:
    """Remove the person when it holds no row and nothing refers to it.

    Returns (removed, kept_because): (False, "") when it still has rows or is gone already.
    """
    person = Person.objects.select_for_update().filter(pk=person_id).first()
    if person is None or SourceRecord.objects.filter(person_id=person_id).exists():
        return False, ""
    reason = keep_reason(person_id)
    if reason:
        return False, reason
    try:
        with transaction.atomic():
            person.delete()
    except ProtectedError:
        return False, "referenced"
    return True, ""


def is_active(person: Person) -> bool:
    return person.status == PersonStatus.ACTIVE
