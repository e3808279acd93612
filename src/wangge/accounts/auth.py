"""API authentication: hashed bearer tokens for machines, the session (with CSRF) for pages."""

from __future__ import annotations

import copy

from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from wangge.audit.context import Actor, client_ip_of, set_actor
from wangge.core.memo import Recent

from .models import ApiToken, User

# How long a server process trusts a token it has read. A sensor posting every second then
# costs one token query per process every few seconds, not one per report. Revoking a token
# or deactivating its account takes effect at once in the process that did it (the save
# clears the memory) and in every other process within these seconds.
TOKEN_TRUST_SECONDS = 5.0


def _token_with_owner(digest: str) -> ApiToken | None:
    return ApiToken.objects.select_related("user__region").filter(digest=digest).first()


_recent_tokens = Recent(_token_with_owner, seconds=TOKEN_TRUST_SECONDS).clear_on(ApiToken, User)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer wg_…``; the token's scopes narrow what its owner may do."""

    def authenticate(self, request, token: str):
        if not token.startswith("wg_"):
            return None
        known = _recent_tokens.get(ApiToken.digest_of(token))
        if known is None:
            return None
        if not known.is_usable or not known.user.is_active:
            return None
        # Each request gets its own copies: what one request caches on its user must not
        # leak into the next request that presents the same token.
        api_token, user = copy.copy(known), copy.copy(known.user)
        api_token.user = user
        now = timezone.now()
        # Touch at most once a minute: a sensor posting every second shouldn't write every time.
        if known.last_used_at is None or (now - known.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=known.pk).update(last_used_at=now)
            known.last_used_at = api_token.last_used_at = now
        request.user = user
        request.api_token = api_token
        set_actor(Actor.for_user(user, client_ip_of(request)))
        return user


class StaffSessionAuth(SessionAuth):
    """Session cookie auth for the pages' own API calls; CSRF is enforced by ninja."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is not None:
            request.api_token = None
        return user


def api_auth() -> list:
    return [TokenAuth(), StaffSessionAuth()]
