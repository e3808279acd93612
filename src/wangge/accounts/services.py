"""Account services: the only code that writes users, departments and tokens."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from wangge.audit.services import record

from .models import ApiToken, User
from .permissions import require_permission
from .roles import PERMISSIONS, TOKEN_SCOPES
from .scope import get_visible_or_404


def permissions_of(user) -> list[str]:
    return sorted(p for p, roles in PERMISSIONS.items() if user.role in roles)


def issue_token(
    by: User | None,
    *,
    username: str,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for ``username``; return it with its secret (shown once).

    ``by`` is the administrator asking, whose scope must contain the owner; ``None`` is the
    operator's command line on the server itself.
    """
    if by is not None:
        require_permission(by, "tokens.manage")
    unknown = sorted(set(scopes) - set(TOKEN_SCOPES))
    if unknown:
        raise ValidationError({"scopes": f"unknown scope(s): {', '.join(unknown)}"})
    if not scopes:
        raise ValidationError({"scopes": "a token needs at least one scope"})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "the expiry is in the past"})
    if by is None:
        owner = User.objects.filter(username=username).first()
        if owner is None:
            raise ValidationError({"user": f"no user named {username!r}"})
    else:
        owner = get_visible_or_404(User, by, username=username)
    with transaction.atomic():
        secret, prefix, digest = ApiToken.new_secret()
        token = ApiToken.objects.create(
            user=owner, name=name, prefix=prefix, digest=digest, scopes=sorted(scopes),
            expires_at=expires_at,
        )
        record("accounts.token_issue", token, detail={"owner": owner.username, "scopes": scopes})
    return token, secret


def revoke_token(by: User, token_id: int) -> ApiToken:
    require_permission(by, "tokens.manage")
    token = get_visible_or_404(ApiToken, by, pk=token_id)
    if token.revoked_at is not None:
        raise PermissionDenied("token already revoked")
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record("accounts.token_revoke", token)
    return token
