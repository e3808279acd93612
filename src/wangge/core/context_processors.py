"""Values every page template needs."""

from django.conf import settings
from django.http import HttpRequest


def platform(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    return {
        "map_tile_url": settings.MAP_TILE_URL,
        "map_tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        "current_role": getattr(user, "role", None) if user and user.is_authenticated else None,
    }
