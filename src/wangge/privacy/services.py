"""Reveal — 查看明文: a protected value in clear, for a stated purpose, on the record.

A reveal needs, in this order: the ``privacy.reveal`` permission (and, with an API token,
that scope), a field the model declares protected, a declared purpose (``purposes``; "other"
must say what), and the object visible to the user under the usual scope rule
(``accounts.scope``; out of scope answers exactly like missing). Each reveal appends
``privacy.reveal`` to the audit trail — who, which object, which field, why — before the
value is handed back, so a value is never seen without its record. Each refusal appends
``privacy.reveal_refused`` with the reason, then raises (``PermissionDenied``,
``ValidationError`` naming the field, ``Http404``, or the crypto error for a stored value
that does not open).

The refusal record commits on its own unless the caller holds a transaction it then rolls
back: call ``reveal`` outside ``transaction.atomic`` (pages and the API do).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model
from django.http import Http404
from django.utils.translation import gettext as _

from wangge.accounts.permissions import require_permission
from wangge.accounts.scope import visible_to
from wangge.audit.context import Actor, current_actor
from wangge.audit.services import record

from . import kinds
from .errors import PrivacyError
from .purposes import DETAIL_MAX, PURPOSES

REVEAL_PERMISSION = "privacy.reveal"


def protected_models() -> list[type[Model]]:
    """Every installed model that declares protected fields (``protected_fields``)."""
    return [m for m in apps.get_models() if getattr(m, "protected_fields", None)]


def protected_kind(model: type[Model], field: str) -> kinds.Kind:
    declared = getattr(model, "protected_fields", None) or {}
    if field not in declared or not kinds.get_kind(declared[field]).revealable:
        raise ValidationError({"field": _("%(field)s is not a protected field of %(model)s")
                               % {"field": field[:40], "model": model._meta.label_lower}})
    return kinds.get_kind(declared[field])


def model_for(object_type: str) -> type[Model]:
    """The model named ``app_label.model`` that declares protected fields."""
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        model = None
    if model is None or not getattr(model, "protected_fields", None):
        raise ValidationError({"object_type": _("%(type)s is not a type of record with "
                                                "protected fields") % {"type": object_type[:60]}})
    return model


def check_purpose(purpose: str, detail: str) -> str:
    """The audit text for a purpose and its detail (``ValidationError`` naming the field)."""
    chosen = PURPOSES.get((purpose or "").strip())
    if chosen is None:
        raise ValidationError({"purpose": _("say why: one of %(codes)s")
                               % {"codes": ", ".join(PURPOSES)}})
    detail = (detail or "").strip()
    if chosen.needs_detail and not detail:
        raise ValidationError({"detail": _("this purpose needs a detail saying what for")})
    if len(detail) > DETAIL_MAX:
        raise ValidationError({"detail": _("at most %(max)d characters") % {"max": DETAIL_MAX}})
    return f"{chosen.code}: {detail}" if detail else chosen.code


@dataclass(frozen=True)
class Target:
    """What a reveal is about, for its audit record."""

    object_type: str
    object_id: str
    field: str


def _actor(user) -> Actor:
    actor = current_actor()
    if user is None or not getattr(user, "is_authenticated", False) or actor.user_id == user.pk:
        return actor  # keeps the client address the middleware or token auth set
    return Actor.for_user(user)


REFUSALS: tuple[tuple[type[BaseException], str], ...] = (
    (PermissionDenied, "permission"),
    (ValidationError, "invalid"),
    (Http404, "scope"),
    (PrivacyError, "undecryptable"),
)


@contextmanager
def _refusals_audited(user, target: Target, purpose: str) -> Iterator[None]:
    try:
        yield
    except tuple(exc for exc, _reason in REFUSALS) as exc:
        reason = next(r for cls, r in REFUSALS if isinstance(exc, cls))
        detail = {"field": target.field[:40], "reason": reason}
        if isinstance(exc, ValidationError):
            detail["invalid"] = sorted(getattr(exc, "message_dict", {}))
        record("privacy.reveal_refused", object_type=target.object_type[:80],
               object_id=target.object_id[:80], purpose=(purpose or "")[:80], detail=detail,
               actor=_actor(user))
        raise


def _open(user, obj: Model, field: str, purpose: str, detail: str) -> str:
    spec = protected_kind(type(obj), field)
    purpose_text = check_purpose(purpose, detail)
    if not visible_to(type(obj), user).filter(pk=obj.pk).exists():
        raise Http404
    value = kinds.open_cipher(spec, getattr(obj, f"{field}_cipher"))
    record("privacy.reveal", obj, purpose=purpose_text,
           detail={"field": field, "kind": spec.code, "masked": getattr(obj, f"{field}_masked")},
           actor=_actor(user))
    return value


def reveal(user, obj: Model, field: str, purpose: str, *, detail: str = "",
           token=None) -> str:
    """The clear value of ``obj``'s protected ``field`` for ``purpose``; audited either way."""
    target = Target(obj._meta.label_lower, str(obj.pk), field)
    with _refusals_audited(user, target, purpose):
        require_permission(user, REVEAL_PERMISSION, token)
        return _open(user, obj, field, purpose, detail)


def reveal_reference(user, object_type: str, object_id: str, field: str, purpose: str, *,
                     detail: str = "", token=None) -> tuple[Model, str]:
    """``reveal`` for a record named by type (``app_label.model``) and id, as the API gets it.

    Returns the record (for its mask) and the clear value."""
    target = Target(object_type, str(object_id), field)
    with _refusals_audited(user, target, purpose):
        require_permission(user, REVEAL_PERMISSION, token)
        model = model_for(object_type)
        protected_kind(model, field)
        check_purpose(purpose, detail)
        try:
            obj = visible_to(model, user).filter(pk=object_id).first()
        except (ValueError, TypeError, ValidationError):
            obj = None  # an id of the wrong form names nothing
        if obj is None:
            raise Http404
        return obj, _open(user, obj, field, purpose, detail)
