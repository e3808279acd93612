"""Make the signed-in user the actor of every audit record written during a page request."""

from __future__ import annotations

from .context import Actor, client_ip_of, reset_actor, set_actor


class ActorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = Actor.for_user(user, client_ip_of(request))
        else:
            actor = Actor(user_id=None, name="anonymous", client_ip=client_ip_of(request))
        token = set_actor(actor)
        try:
            return self.get_response(request)
        finally:
            reset_actor(token)
