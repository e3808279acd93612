"""Command API under /api/v1/command."""

from ninja import Router

router = Router(tags=["command"])
