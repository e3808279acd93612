"""Who is acting right now: set by the page middleware, the API auth and the CLI."""

from __future__ import annotations

import contextvars
import getpass
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    name: str
    role: str = ""
    node_code: str = ""
    node_path: str = ""
    client_ip: str = ""

    @classmethod
    def for_user(cls, user, client_ip: str = "") -> Actor:
        region = getattr(user, "region", None)
        return cls(
            user_id=user.pk,
            name=user.get_username(),
            role=getattr(user, "role", "") or "",
            node_code=region.code if region else "",
            node_path=region.path if region else "",
            client_ip=client_ip,
        )

    @classmethod
    def system(cls, what: str = "cli") -> Actor:
        try:
            who = getpass.getuser()
        except Exception:  # no login name in some containers
            who = "unknown"
        return cls(user_id=None, name=f"system:{what}:{who}", role="system")


_current: contextvars.ContextVar[Actor | None] = contextvars.ContextVar(
    "wangge_actor", default=None
)


def current_actor() -> Actor:
    return _current.get() or Actor.system()


def set_actor(actor: Actor | None) -> contextvars.Token:
    return _current.set(actor)


def reset_actor(token: contextvars.Token) -> None:
    _current.reset(token)


@contextmanager
def acting_as(actor: Actor):
    token = set_actor(actor)
    try:
        yield actor
    finally:
        reset_actor(token)


def client_ip_of(request) -> str:
    """The peer address. Forwarded headers are not trusted: a proxy must set REMOTE_ADDR."""
    return request.META.get("REMOTE_ADDR", "") or ""
