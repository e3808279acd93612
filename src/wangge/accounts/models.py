"""Accounts — 账号: users bound to a region node, departments (职能部门), API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .roles import UNBOUND_ROLES, Role


class Department(models.Model):
    """A functional department — 职能部门 (e.g. 城管局, 住建局), at the node it serves."""

    scope_path_field = "region__path"

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="departments"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person or machine client with one role, bound to one region node."""

    scope_path_field = "region__path"

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.RESIDENT)
    region = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="users",
        verbose_name=_("region node"),
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="users",
        verbose_name=_("department"),
    )
    display_name = models.CharField(_("display name"), max_length=60, blank=True)
    # A resident's phone, kept only as a mask to show and a keyed blind index to match a
    # case filed for her (by a grid worker or the hotline) with her account.
    phone_masked = models.CharField(_("phone"), max_length=20, blank=True)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["role", "region"], name="user_role_region")]

    def clean(self) -> None:
        super().clean()
        if self.region_id is None and self.role not in UNBOUND_ROLES and self.role != Role.RESIDENT:
            raise ValidationError({"region": _("This role must be bound to a region node.")})
        if self.role == Role.HANDLER and self.department_id is None:
            raise ValidationError({"department": _("A department handler needs a department.")})

    @property
    def label(self) -> str:
        return self.display_name or self.get_full_name() or self.username


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A hashed bearer token for a machine client (sensor, hotline import) — 接口令牌.

    Only the SHA-256 digest is stored: tokens carry 256 random bits, so a fast hash is
    enough, and a stolen table reveals nothing usable.
    """

    scope_path_field = "user__region__path"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=80)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_secret() -> tuple[str, str, str]:
        """Return (token, prefix, digest); the token is shown once and never stored."""
        prefix = secrets.token_hex(4)
        token = f"wg_{prefix}_{secrets.token_urlsafe(32)}"
        return token, prefix, _digest(token)

    @staticmethod
    def digest_of(token: str) -> str:
        return _digest(token)

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
