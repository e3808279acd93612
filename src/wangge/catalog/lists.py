"""Lists sent down to grids — 数据下沉: a department's list, each grid its own part.

A dataset published to grids (``Dataset.flows_down``) is a list (e.g. 独居老人名单). Who
reaches it is ``registry.access``'s rule (grid workers, street / community staff and the
command centre, each within their subtree; the owning department; a department holding a
grant) — not another department's handlers. Reading goes through ``rows``: masked, the
reader's grant's fields, logged like any other read.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count
from django.utils.translation import gettext as _

from wangge.accounts.scope import visible_to
from wangge.registry.access import readable_datasets_q
from wangge.registry.models import SourceRecord

from . import rows
from .models import Dataset
from .service import NotFound, require

PERMISSION = "catalog.lists"


@dataclass(frozen=True)
class ListSummary:
    """A list the reader reaches, with how many of its rows lie in her area."""

    dataset: Dataset
    rows: int


def published(user):
    """The lists (datasets published to grids) ``user`` reaches."""
    return (Dataset.objects.filter(readable_datasets_q(user), flows_down=True)
            .select_related("department", "tag").order_by("department__code", "code"))


def lists_for(user, token=None) -> list[ListSummary]:
    """Every list ``user`` reaches, with the count of its rows in her subtree."""
    require(user, PERMISSION, token)
    datasets = list(published(user))
    counts = {row["dataset"]: row["n"] for row in
              visible_to(SourceRecord, user).filter(dataset__in=datasets).order_by()
              .values("dataset").annotate(n=Count("pk"))}
    return [ListSummary(d, counts.get(d.pk, 0)) for d in datasets]


def get_list(user, code: str, token=None) -> Dataset:
    """One list ``user`` reaches; anything else answers like a missing one."""
    require(user, PERMISSION, token)
    found = published(user).filter(code=code).first()
    if found is None:
        raise NotFound(_("No list with code %(code)s.") % {"code": code[:60]})
    return found


def read_list(user, code: str, *, channel: str = "page", token=None, page=1,
              page_size: int = rows.PAGE_SIZE, grid: str = "") -> rows.RowsPage:
    """One page of the list's rows in the reader's subtree (or one grid of it), logged."""
    dataset = get_list(user, code, token)
    return rows.read(user, dataset, permission=PERMISSION, channel=channel, token=token,
                     page=page, page_size=page_size, grid=grid)


def export_list(user, code: str, *, token=None, grid: str = "") -> tuple[str, bytes]:
    """The list's rows in the reader's subtree as CSV, masked, logged as an export."""
    dataset = get_list(user, code, token)
    return rows.export_csv(user, dataset, permission=PERMISSION, token=token, grid=grid)
