"""Small pieces shared by intake, the engine and the queries."""

from __future__ import annotations

from datetime import datetime

from wangge.accounts.roles import Role
from wangge.audit.context import Actor, current_actor
from wangge.core import clock


def audit_actor(user) -> Actor:
    """The acting user as the audit trail names them, keeping the request's address if the
    request context already names the same user (API and pages set it)."""
    current = current_actor()
    if user is not None and current.user_id == user.pk:
        return current
    return Actor.for_user(user)


def deadline_for(case, step: str) -> datetime | None:
    """Due time of ``step`` starting now, from the deadline rules (None: no rule applies)."""
    from ..deadlines import deadline_for as rule_deadline

    return rule_deadline(case, step)


def event_for(case, actor, action: str, from_state: str, to_state: str, at: datetime, *,
              note: str = "", detail: dict | None = None, department=None,
              lead_department_id: int | None = None) -> dict:
    """Keyword arguments for one timeline line (CaseEvent) written by ``actor``."""
    if department is None and getattr(actor, "role", None) == Role.HANDLER:
        department = actor.department
    return {
        "case": case, "action": action, "from_state": from_state, "to_state": to_state,
        "actor": actor, "actor_name": actor.label if hasattr(actor, "label") else str(actor),
        "actor_role": getattr(actor, "role", ""), "department": department, "note": note,
        "detail": detail or {}, "at": at,
        "lead_department_id": (lead_department_id if lead_department_id is not None
                               else getattr(case, "lead_department_id", None)),
    }


def elapsed_ratio(started: datetime | None, due: datetime | None,
                  now: datetime | None = None) -> float | None:
    """Share of a step's working-time limit used by ``now`` (1.0 = exactly on the limit),
    measured on the official calendar by ``cases.deadlines``; None without a deadline."""
    if started is None or due is None:
        return None
    from ..deadlines import elapsed_ratio as ratio

    return ratio(started, due, now or clock.now())


def traffic_light(case, now: datetime | None = None) -> str | None:
    """green / yellow / red for the case's running step (``cases.deadlines`` decides)."""
    from ..deadlines import traffic_light as light

    return light(case, now)
