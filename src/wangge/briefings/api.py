"""Briefings API under /api/v1/briefings."""

from ninja import Router

router = Router(tags=["briefings"])
