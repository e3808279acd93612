"""Reading a dataset's rows — 共享数据读取: masked, within the reader's grant, logged.

The one path by which pages, the API and exports show another department's rows, and the
lists sent down to grids: the rows come from ``visible_to(SourceRecord, user)`` (the subtree
and ``registry.access``), only the masked values (``SourceRecord.masked``) of the fields the
reader's access allows (``service.access_basis``: a grant naming fields shows those only).
Every read writes an ``AccessLog`` row (dataset, grant, user, department, channel, token
prefix, rows, query) and an audit record, in one transaction.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts.scope import visible_to
from wangge.audit.services import record
from wangge.regions.models import Region
from wangge.registry.models import SourceRecord

from .fields import StandardField, get_field
from .models import AccessLog, Dataset
from .service import Access, Forbidden, Invalid, access_basis, audit_actor, require

PAGE_SIZE = 50
PAGE_SIZE_MAX = 200
EXPORT_MAX = 100_000
CHANNELS = ("page", "api", "export")
# A cell a spreadsheet would run as a formula starts with one of these (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class RowsPage:
    """One page of a dataset's rows as the reader may see them."""

    dataset: Dataset
    access: Access
    fields: list[StandardField]
    rows: list[dict]  # {"key", "grid", "grid_code", "values": {code: masked}, "observed_at"}
    total: int
    page: int
    pages: int
    page_size: int
    grid: str = ""

    def cells(self, row: dict) -> list[str]:
        """The row's values in field order, as a page shows them (choice labels)."""
        return [shown(f, row["values"].get(f.code, "")) for f in self.fields]


def shown(spec: StandardField, value: str) -> str:
    """A masked value as pages and exports write it: choices by their label."""
    if value and spec.kind == "choice":
        return spec.choice_label(value)
    return value


def _row(rec: SourceRecord, codes: tuple[str, ...]) -> dict:
    masked = rec.masked or {}
    return {"key": rec.key, "grid": rec.region.name if rec.region_id else "",
            "grid_code": rec.region.code if rec.region_id else "",
            "values": {c: masked[c] for c in codes if masked.get(c)},
            "observed_at": rec.observed_at}


def visible_rows(user, dataset: Dataset, grid: str = "") -> QuerySet[SourceRecord]:
    """The dataset's rows ``user`` may see (subtree and ``registry.access``), in one grid
    when ``grid`` names one of her area."""
    qs = visible_to(SourceRecord, user).filter(dataset=dataset).select_related("region")
    if grid:
        if not visible_to(Region, user).filter(code=grid).exists():
            raise Invalid(_("No grid with code %(code)s in your area.") % {"code": grid[:20]},
                          field="grid")
        qs = qs.filter(region__code=grid)
    return qs.order_by("region_path", "key", "pk")


def grid_choices(user, dataset: Dataset) -> list[tuple[str, str]]:
    """The grids (code, name) holding rows of ``dataset`` that ``user`` sees, to filter by."""
    pairs = (visible_to(SourceRecord, user).filter(dataset=dataset, region__isnull=False)
             .values_list("region__code", "region__name").distinct()
             .order_by("region__code"))
    return list(pairs)


def _fields(access: Access) -> list[StandardField]:
    return [get_field(c) for c in access.fields]


def _log(user, dataset: Dataset, access: Access, *, channel: str, token, rows: int,
         query: dict) -> AccessLog:
    """Write the access log row and its audit record (inside the caller's transaction)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    prefix = getattr(token, "prefix", "") or ""
    entry = AccessLog.objects.create(
        dataset=dataset, grant=access.grant, user=user, department_id=user.department_id,
        channel=channel, token_prefix=prefix, rows=rows, query=query, at=timezone.now())
    record("catalog.export" if channel == "export" else "catalog.read", dataset,
           actor=audit_actor(user), detail={
               "channel": channel, "rows": rows, "basis": access.basis,
               "grant": access.grant.pk if access.grant else None, "token": prefix,
               "fields": list(access.fields), "query": query, "log": entry.pk})
    return entry


def _page_number(raw) -> int:
    try:
        return max(1, int(raw))
    except (TypeError, ValueError):
        return 1


def read(user, dataset: Dataset, *, permission: str, channel: str = "page", token=None,
         page=1, page_size: int = PAGE_SIZE, grid: str = "") -> RowsPage:
    """One page of the rows ``user`` may read, masked, limited to her grant's fields; the
    read is logged. ``permission``: "catalog.read" (shared rows) or "catalog.lists"."""
    require(user, permission, token)
    access = access_basis(user, dataset)
    if not 1 <= page_size <= PAGE_SIZE_MAX:
        raise Invalid(_("A page holds between 1 and %(n)d rows.") % {"n": PAGE_SIZE_MAX},
                      field="page_size")
    grid = (grid or "").strip()
    rows = visible_rows(user, dataset, grid)
    paged = Paginator(rows, page_size).get_page(_page_number(page))
    out = [_row(r, access.fields) for r in paged.object_list]
    query = {"page": paged.number, "page_size": page_size, **({"grid": grid} if grid else {})}
    with transaction.atomic():
        _log(user, dataset, access, channel=channel, token=token, rows=len(out), query=query)
    return RowsPage(dataset=dataset, access=access, fields=_fields(access), rows=out,
                    total=paged.paginator.count, page=paged.number,
                    pages=paged.paginator.num_pages, page_size=page_size, grid=grid)


def _cell(text: str) -> str:
    text = str(text or "")
    return "'" + text if text.startswith(FORMULA_START) else text


def export_csv(user, dataset: Dataset, *, permission: str, token=None,
               grid: str = "") -> tuple[str, bytes]:
    """Every row ``user`` may read (or of one grid), masked, as CSV (UTF-8 with BOM, which
    Excel needs to read Chinese); the export is logged with channel "export"."""
    require(user, permission, token)
    access = access_basis(user, dataset)
    grid = (grid or "").strip()
    rows = visible_rows(user, dataset, grid)
    total = rows.count()
    if total > EXPORT_MAX:
        raise Invalid(_("%(n)d rows are too many for one file (at most %(max)d): choose a "
                        "grid.") % {"n": total, "max": EXPORT_MAX}, field="grid")
    fields = _fields(access)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([_("grid"), _("grid code"), _("source key"),
                     *[f.label for f in fields], _("as of")])
    count = 0
    for rec in rows.iterator(chunk_size=2000):
        row = _row(rec, access.fields)
        writer.writerow([_cell(row["grid"]), row["grid_code"], _cell(row["key"]),
                         *[_cell(shown(f, row["values"].get(f.code, ""))) for f in fields],
                         timezone.localtime(row["observed_at"]).strftime("%Y-%m-%d")])
        count += 1
    with transaction.atomic():
        _log(user, dataset, access, channel="export", token=token, rows=count,
             query={"grid": grid} if grid else {})
    stamp = timezone.localdate().isoformat()
    name = f"{dataset.code}{'-' + grid if grid else ''}-{stamp}.csv"
    return name, ("\ufeff" + buf.getvalue()).encode("utf-8")


def access_log(user, dataset: Dataset) -> QuerySet[AccessLog]:
    """Who read the dataset's rows, newest first — for the owner's steward only."""
    from .service import is_owner_steward

    if not is_owner_steward(user, dataset):
        raise Forbidden(_("Only a steward of %(department)s reads who used its data.")
                        % {"department": dataset.department.name})
    return (AccessLog.objects.filter(dataset=dataset)
            .select_related("user", "department", "grant").order_by("-at", "-pk"))
