"""Refusals — 拒绝: a service's "no", with the HTTP status pages and the API answer with.

Services raise these with a message that says what to do about it (and ``field`` naming the
input at fault); pages render the message with the status, the API returns it as
``{"detail": …}``. Nothing was written when one is raised.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from wangge.accounts.permissions import has_permission


class Refusal(Exception):
    """A refusal with an HTTP status and a message saying what to do about it."""

    status = 400

    def __init__(self, message: str, *, field: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return self.message


class NotFound(Refusal):
    """Missing, or not the reader's to see: the two answer alike."""

    status = 404


class Forbidden(Refusal):
    """The role, department or grant does not allow it."""

    status = 403


class Conflict(Refusal):
    """Not possible in the current state (already decided, a second pending one …)."""

    status = 409


class Invalid(Refusal):
    """An input is missing or wrong; ``field`` names it."""

    status = 422


def require(user, permission: str, token=None) -> None:
    """``has_permission`` (with the API token's scopes), refused as ``Forbidden`` so pages
    and the API answer 403 with words rather than a bare permission name."""
    if not has_permission(user, permission, token):
        raise Forbidden(_("You may not do this (%(permission)s).")
                        % {"permission": permission})
