"""Sign-in events belong in the trail too: who got in, who was turned away."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .context import Actor, client_ip_of
from .services import record


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    record("accounts.login", user, actor=Actor.for_user(user, client_ip_of(request)))


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        record("accounts.logout", user, actor=Actor.for_user(user, client_ip_of(request)))


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    name = str(credentials.get("username", ""))[:150]
    ip = client_ip_of(request) if request is not None else ""
    record("accounts.login_failed", object_type="accounts.user", object_id=name,
           actor=Actor(user_id=None, name=name or "anonymous", client_ip=ip))
