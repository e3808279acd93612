"""Who may see which registry rows — 数据权限 beyond the subtree, in one place.

The subtree rule (``accounts.scope``) applies to every registry record. On top of it:

- **Datasets** a user may read rows of (``readable_datasets_q``): those of her own
  department, those shared without conditions (无条件共享), those published to grids
  (数据下沉: for grid workers, street / community staff and the command centre), and those
  her department holds a live grant for (有条件共享, approved and not expired).
  Administrators and auditors read none: they run the system, not people.
- **Source rows** (``SourceRecord``): the subtree, then only readable datasets.
- **Persons**: the subtree for street / community staff, the command centre, grid workers
  and stewards; a department handler only sees persons some readable dataset holds.
- **Tags** (``visible_tags_q``): the owning department's accounts and the roles the tag
  names as holders; anyone else does not even learn that a person carries it.

The models call these from their ``scope_refine`` hooks so every fetch through
``visible_to`` honours them.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from wangge.accounts.roles import Role

# Roles that see every person in their subtree (they serve all residents of the area).
AREA_ROLES = frozenset({Role.STAFF, Role.COMMAND, Role.GRID_WORKER, Role.STEWARD})
# Roles a list sent down to grids reaches (each within its subtree), not other departments.
DOWNWARD_ROLES = frozenset({Role.STAFF, Role.COMMAND, Role.GRID_WORKER})
# Roles that never see registry rows.
NO_ROWS = frozenset({Role.ADMIN, Role.AUDITOR, Role.MACHINE, Role.RESIDENT})


def live_grant_q(department_id: int | None, prefix: str = "", at=None) -> Q:
    """Datasets (``prefix`` leads to the dataset) the department holds a live grant for."""
    from wangge.catalog.models import AccessRequest, RequestStatus

    if department_id is None:
        return Q(pk__in=[])
    granted = AccessRequest.objects.filter(
        department_id=department_id, status=RequestStatus.APPROVED,
        expires_at__gt=at or timezone.now()).values("dataset_id")
    return Q(**{f"{prefix}pk__in" if not prefix else f"{prefix}id__in": granted})


def readable_datasets_q(user, prefix: str = "") -> Q:
    """The datasets ``user`` may read rows of; ``prefix`` (e.g. ``"dataset__"``) when the
    filter is on a related model."""
    from wangge.catalog.models import SharingClass

    role = getattr(user, "role", None)
    if role in NO_ROWS or role is None:
        return Q(pk__in=[]) if not prefix else Q(**{f"{prefix}id__in": []})
    q = Q(**{f"{prefix}sharing_class": SharingClass.UNCONDITIONAL})
    if role in DOWNWARD_ROLES:
        q |= Q(**{f"{prefix}flows_down": True})
    dept = getattr(user, "department_id", None)
    if dept is not None:
        q |= Q(**{f"{prefix}department_id": dept}) | live_grant_q(dept, prefix)
    return q & Q(**{f"{prefix}is_active": True})


def refine_source_records(user, base: Q) -> Q:
    if getattr(user, "role", None) in NO_ROWS:
        return Q(pk__in=[])
    return base & readable_datasets_q(user, "dataset__")


def refine_persons(user, base: Q) -> Q:
    role = getattr(user, "role", None)
    if role in AREA_ROLES:
        return base
    if role == Role.HANDLER:
        from .models import SourceRecord

        held = SourceRecord.objects.filter(readable_datasets_q(user, "dataset__"),
                                           person__isnull=False).values("person_id")
        return base & Q(pk__in=held)
    return Q(pk__in=[])


def refine_area_records(user, base: Q) -> Q:
    """Buildings, houses, households, organisations: everyone who sees the registry."""
    return Q(pk__in=[]) if getattr(user, "role", None) in NO_ROWS else base


def visible_tags_q(user, prefix: str = "") -> Q:
    """Tag definitions ``user`` may see (``prefix`` e.g. ``"tag__"`` from ``PersonTag``)."""
    role = getattr(user, "role", None)
    if role in NO_ROWS or role is None:
        return Q(**{f"{prefix}pk__in": []})
    q = Q(**{f"{prefix}holders__contains": [role]}) if _json_contains_supported() else Q(
        **{f"{prefix}holders__icontains": f'"{role}"'})
    dept = getattr(user, "department_id", None)
    if dept is not None:
        q |= Q(**{f"{prefix}department_id": dept})
    return q


def _json_contains_supported() -> bool:
    from django.db import connection

    return connection.features.supports_json_field_contains


def refine_person_tags(user, base: Q) -> Q:
    return base & visible_tags_q(user, "tag__")


def refine_erasure_requests(user, base: Q) -> Q:
    """Stewards who decide erasures see their subtree's requests; others only their own."""
    from wangge.accounts.roles import role_has_permission

    if role_has_permission(getattr(user, "role", None), "registry.erase"):
        return base
    return Q(requested_by_id=user.pk)
