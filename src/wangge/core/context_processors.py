"""Values every page template needs."""

from django.conf import settings
from django.http import HttpRequest

from wangge.accounts.roles import PERMISSIONS, role_has_permission


class RolePermissions:
    """``{% if can.figures_view %}`` in templates: what the signed-in user's role may do, read
    from the one permission table (dots become underscores for the template language)."""

    def __init__(self, role: str | None) -> None:
        self.role = role

    def __getitem__(self, name: str) -> bool:
        permission = name.replace("_", ".", 1)
        return permission in PERMISSIONS and role_has_permission(self.role, permission)


def platform(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    role = getattr(user, "role", None) if user and user.is_authenticated else None
    return {
        "map_tile_url": settings.MAP_TILE_URL,
        "map_tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        "current_role": role,
        "can": RolePermissions(role),
    }
