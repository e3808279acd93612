from __future__ import annotations

from datetime import datetime

from ninja import Schema


class MeOut(Schema):
    username: str
    display_name: str
    role: str
    region_code: str | None
    region_name: str | None
    department: str | None
    permissions: list[str]


class TokenIn(Schema):
    user: str
    name: str
    scopes: list[str]
    expires_at: datetime | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None
    token: str | None = None  # only in the response that creates it


class DepartmentOut(Schema):
    code: str
    name: str
    region_code: str
