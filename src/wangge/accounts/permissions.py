"""Permission checks for people and tokens, backed by the table in ``roles``."""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from .roles import TOKEN_SCOPES, role_has_permission


def has_permission(user, permission: str, token=None) -> bool:
    """True when ``user`` (and ``token``, if the request came with one) holds ``permission``."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if not role_has_permission(user.role, permission):
        return False
    if token is not None:
        granted = {TOKEN_SCOPES.get(scope) for scope in token.scopes}
        return permission in granted
    return True


def require_permission(user, permission: str, token=None) -> None:
    if not has_permission(user, permission, token):
        raise PermissionDenied(permission)


def permission_required(permission: str):
    """View decorator: log in first, then 403 unless the role holds ``permission``."""

    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            from django.contrib.auth.views import redirect_to_login

            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            require_permission(request.user, permission)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
