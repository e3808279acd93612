"""Roles and what each may do, declared once as data.

Every permission check in pages and API goes through ``has_permission``; the table below is
the only place that says which role holds which permission.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("administrator")  # 系统管理员
    COMMAND = "command", _("command centre")  # 指挥中心
    STAFF = "staff", _("street / community staff")  # 街道、社区工作人员
    HANDLER = "handler", _("department handler")  # 职能部门
    GRID_WORKER = "grid_worker", _("grid worker")  # 网格员
    RESIDENT = "resident", _("resident")  # 居民
    STEWARD = "steward", _("data steward")  # 数据管理员
    AUDITOR = "auditor", _("auditor")  # 审计
    MACHINE = "machine", _("machine client")  # 物联感知、热线对接等机器客户端


STAFF_ROLES = frozenset(
    {Role.ADMIN, Role.COMMAND, Role.STAFF, Role.HANDLER, Role.GRID_WORKER, Role.STEWARD,
     Role.AUDITOR}
)
# Roles whose accounts may exist without a region node: they serve the whole deployment.
UNBOUND_ROLES = frozenset({Role.ADMIN, Role.AUDITOR})

PERMISSIONS: dict[str, frozenset[str]] = {
    "regions.view": STAFF_ROLES,
    "regions.locate": STAFF_ROLES | {Role.MACHINE, Role.RESIDENT},
    "regions.import": frozenset({Role.ADMIN}),
    "accounts.view": frozenset({Role.ADMIN, Role.COMMAND, Role.STAFF}),
    "accounts.manage": frozenset({Role.ADMIN}),
    "tokens.manage": frozenset({Role.ADMIN}),
    "cases.view": STAFF_ROLES - {Role.AUDITOR, Role.STEWARD} | {Role.RESIDENT, Role.MACHINE},
    "cases.report": frozenset({Role.GRID_WORKER, Role.RESIDENT, Role.STAFF, Role.COMMAND,
                               Role.MACHINE}),
    "cases.import": frozenset({Role.STAFF, Role.COMMAND, Role.MACHINE}),
    "cases.configure": frozenset({Role.ADMIN}),  # categories, routing and deadline rules
    "audit.view": frozenset({Role.AUDITOR}),
    # Figures of the user's subtree (a handler: of her department only).
    "figures.view": frozenset({Role.ADMIN, Role.COMMAND, Role.STAFF, Role.HANDLER,
                               Role.GRID_WORKER}),
    "audit.verify": frozenset({Role.AUDITOR, Role.ADMIN}),
    # The one map of the user's subtree: grids coloured by a measure, case points, key places.
    "command.map": frozenset({Role.ADMIN, Role.COMMAND, Role.STAFF}),
    # Evaluation indicators and the governance index of the user's subtree.
    "evaluation.view": frozenset({Role.ADMIN, Role.COMMAND, Role.STAFF}),
    "evaluation.configure": frozenset({Role.ADMIN}),  # the index's dimensions and weights
    # Briefings (工作简报) of the user's subtree, as a page and as XLSX.
    "briefings.view": frozenset({Role.ADMIN, Role.COMMAND, Role.STAFF}),
    # A protected value (ID number, phone, exact address) in clear, for a stated purpose,
    # within the user's subtree, audited: those who visit, help, handle or steward people.
    # Not administrators nor auditors: they run the system and read the trail, not people.
    "privacy.reveal": frozenset({Role.STEWARD, Role.COMMAND, Role.STAFF, Role.GRID_WORKER,
                                 Role.HANDLER}),
    # The registry (实有人口、房屋、场所、组织) of the user's subtree, masked; a handler sees
    # the persons his department's datasets (own or granted) hold (``registry.access``).
    "registry.view": frozenset({Role.COMMAND, Role.STAFF, Role.HANDLER, Role.GRID_WORKER,
                                Role.STEWARD}),
    "registry.import": frozenset({Role.STEWARD}),  # a department's files into its datasets
    "registry.link": frozenset({Role.STEWARD}),  # linkage runs, review queue, merge/un-merge
    "registry.tag": frozenset({Role.STEWARD, Role.HANDLER}),  # own department's tags only
    "registry.erase_request": frozenset({Role.STAFF, Role.COMMAND, Role.STEWARD,
                                         Role.GRID_WORKER}),
    "registry.erase": frozenset({Role.STEWARD}),  # decide deletion / anonymisation
    "registry.own_data": frozenset({Role.RESIDENT}),  # a resident's own record, exported
    # The catalogue: datasets, fields, owners, sharing classes — metadata, no rows.
    "catalog.view": STAFF_ROLES,
    "catalog.manage": frozenset({Role.STEWARD, Role.ADMIN}),  # own department's datasets
    "catalog.request": frozenset({Role.HANDLER, Role.STEWARD, Role.COMMAND, Role.STAFF}),
    "catalog.approve": frozenset({Role.STEWARD}),  # requests for own department's datasets
    # Rows of a dataset under a live grant (or shared without conditions), logged.
    "catalog.read": frozenset({Role.HANDLER, Role.STEWARD, Role.COMMAND, Role.STAFF,
                               Role.MACHINE}),
    # Lists sent down to grids (数据下沉): each account sees its subtree's part.
    "catalog.lists": frozenset({Role.GRID_WORKER, Role.STAFF, Role.COMMAND, Role.STEWARD,
                                Role.HANDLER}),
    "catalog.forms": frozenset({Role.HANDLER, Role.STEWARD}),  # build and issue forms
    "catalog.fill": frozenset({Role.GRID_WORKER, Role.STAFF}),  # answer a form's targets
    # The grid matters list (网格事项准入清单): read it; a department applies to admit or
    # exit its items; the district's command centre reviews.
    "gridwork.view": STAFF_ROLES,
    "gridwork.apply": frozenset({Role.HANDLER, Role.STEWARD}),
    "gridwork.review": frozenset({Role.COMMAND}),
    # Tasks, recurring inspections and campaigns sent to grids on an admitted item; their
    # progress is read by everyone with gridwork.view in whose subtree the targets lie.
    "gridwork.tasks": frozenset({Role.HANDLER, Role.STEWARD}),
    # The grid worker's day: targets, visits, patrols, offline sync.
    "gridwork.work": frozenset({Role.GRID_WORKER, Role.STAFF}),
    # Workload, the staffing model and grid split/merge proposals of the user's subtree.
    "gridwork.staffing": frozenset({Role.ADMIN, Role.COMMAND, Role.STAFF}),
    "gridwork.plan": frozenset({Role.COMMAND}),  # accept or reject a split/merge proposal
}

# What an API token may be allowed to do. A request made with a token needs the permission
# both in the token's scopes and in its owner's role.
TOKEN_SCOPES: dict[str, str] = {
    "regions:read": "regions.view",
    "regions:locate": "regions.locate",
    "regions:import": "regions.import",
    "cases:read": "cases.view",
    "cases:report": "cases.report",
    "cases:import": "cases.import",
    "audit:read": "audit.view",
    "figures:read": "figures.view",
    "evaluation:read": "evaluation.view",
    "command:map": "command.map",  # a wall display's layers of the one map
    "briefings:read": "briefings.view",
    "privacy:reveal": "privacy.reveal",
    "registry:read": "registry.view",
    "registry:import": "registry.import",
    "registry:link": "registry.link",  # a steward's tools driving review and merges
    "catalog:read": "catalog.read",
    "catalog:lists": "catalog.lists",
    "catalog:forms": "catalog.forms",  # a department's forms and their burden
    "catalog:fill": "catalog.fill",  # a grid worker's app answering forms
    "gridwork:read": "gridwork.view",
    "gridwork:apply": "gridwork.apply",
    "gridwork:review": "gridwork.review",
    "gridwork:tasks": "gridwork.tasks",  # a department's system sending tasks to grids
    "gridwork:work": "gridwork.work",  # a grid worker's app: targets, visits, patrols, sync
    "gridwork:staffing": "gridwork.staffing",
}


def role_has_permission(role: str | None, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return role in PERMISSIONS[permission]
