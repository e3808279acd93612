"""Case services — the only code that writes cases, their timeline, assignments and photos.

- ``submit_case`` (intake.py): file a case from any source, idempotently.
- ``transition`` (engine.py): move a case along ``workflow.TRANSITIONS``.
- ``add_photo`` / ``photo_file`` (photos.py): store and serve photos within scope.
- ``list_cases`` / ``get_case`` (queries.py): the scoped reads.
Errors are ``CaseError`` subclasses carrying their HTTP status (errors.py).
"""

from __future__ import annotations

from .common import elapsed_ratio, traffic_light
from .engine import allowed_transitions, check_allowed, transition
from .errors import (
    CaseConflict,
    CaseError,
    CaseForbidden,
    CaseInvalid,
    CaseNotFound,
    PhotoTooLarge,
    PhotoUnsupported,
)
from .intake import CaseInput, mask_phone, submit_case
from .photos import MAX_PHOTO_BYTES, add_photo, photo_file
from .queries import CaseFilters, active_categories, duplicate_candidates, get_case, list_cases

__all__ = [
    "MAX_PHOTO_BYTES",
    "CaseConflict",
    "CaseError",
    "CaseFilters",
    "CaseForbidden",
    "CaseInput",
    "CaseInvalid",
    "CaseNotFound",
    "PhotoTooLarge",
    "PhotoUnsupported",
    "active_categories",
    "add_photo",
    "allowed_transitions",
    "check_allowed",
    "duplicate_candidates",
    "elapsed_ratio",
    "get_case",
    "list_cases",
    "mask_phone",
    "photo_file",
    "submit_case",
    "traffic_light",
    "transition",
]
