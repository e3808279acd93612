"""GeoReport v2 errors: an HTTP status and one or more (code, description) pairs.

The spec asks for 404 for what does not exist, 403 for a missing or wrong ``api_key`` and
400 for anything else; the code in the body may be more specific than the HTTP status, so a
refusal of the case services keeps its own (409: an Idempotency-Key reused for other
content; 422: an input is wrong) while the HTTP status says 400.
"""

from __future__ import annotations

from wangge.cases.services import CaseError


class Open311Error(Exception):
    def __init__(self, status: int, *errors: tuple[int, str]) -> None:
        super().__init__("; ".join(description for _, description in errors))
        self.status = status
        self.errors = list(errors)

    @classmethod
    def one(cls, status: int, description: str) -> Open311Error:
        return cls(status, (status, description))

    @classmethod
    def collected(cls, errors: list[tuple[int, str]]) -> Open311Error:
        """Several input errors at once: 404 only if every one is a missing resource."""
        status = 404 if all(code == 404 for code, _ in errors) else 400
        return cls(status, *errors)

    @classmethod
    def from_case_error(cls, exc: CaseError) -> Open311Error:
        status = exc.status if exc.status in (403, 404) else 400
        return cls(status, (exc.status, exc.message))
