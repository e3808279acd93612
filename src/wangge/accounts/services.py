"""Account services: the only code that writes users, departments and tokens."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from wangge.audit.services import record

from .models import ApiToken, User
from .permissions import require_permission
from .roles import PERMISSIONS, TOKEN_SCOPES, Role
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


def create_account(
    by: User | None,
    *,
    username: str,
    role: str,
    password: str,
    region_code: str | None = None,
    department_code: str | None = None,
    display_name: str = "",
    phone: str = "",
) -> User:
    """Create an account bound to a node (and department), validated and audited.

    ``by`` must hold accounts.manage and see the node; ``None`` is the server's own CLI.
    """
    from django.contrib.auth.password_validation import validate_password

    from wangge.regions.models import Region

    from .models import Department
    from .scope import visible_to

    if by is not None:
        require_permission(by, "accounts.manage")
    regions = Region.objects.all() if by is None else visible_to(Region, by)
    region = None
    if region_code:
        region = regions.filter(code=region_code).first()
        if region is None:
            raise ValidationError({"region": f"no region node {region_code!r} in your scope"})
    department = None
    if department_code:
        department = Department.objects.filter(code=department_code).first()
        if department is None:
            raise ValidationError({"department": f"no department {department_code!r}"})
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": f"user name {username!r} is taken"})
    user = User(username=username, role=role, region=region, department=department,
                display_name=display_name)
    set_phone(user, phone)
    user.full_clean(exclude=["password"])
    validate_password(password, user)
    user.set_password(password)
    with transaction.atomic():
        user.save()
        record("accounts.create", user, detail={"role": role, "region": region_code,
                                                "department": department_code,
                                                "phone": user.phone_masked})
    return user


def phone_index(raw_or_digits: str) -> str:
    """The blind index under which accounts and cases find a phone number."""
    from wangge.core.blind import blind_index
    from wangge.core.phones import phone_digits

    return blind_index("phone", phone_digits(raw_or_digits))


def set_phone(user: User, raw: str) -> None:
    """Keep a phone on the account as a mask and a blind index, never in clear (unsaved).

    Raises ``ValidationError`` naming the field when the number cannot be read.
    """
    from wangge.core.phones import PhoneError, mask_digits, phone_digits

    try:
        digits = phone_digits(raw)
    except PhoneError as exc:
        raise ValidationError({"phone": str(exc)}) from exc
    user.phone_masked = mask_digits(digits)
    user.phone_index = phone_index(digits) if digits else ""


def resident_with_phone(digits: str) -> User | None:
    """The active resident account holding this number, if exactly one does."""
    if not digits:
        return None
    found = list(User.objects.filter(phone_index=phone_index(digits), role=Role.RESIDENT,
                                     is_active=True)[:2])
    return found[0] if len(found) == 1 else None
