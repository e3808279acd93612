"""Department imports — 部门数据导入: a department's CSV or XLSX into its dataset, once.

The one place the page, the API, the ``registry_import`` command and the worker go through.

Who: data stewards (``registry.import``), into the active datasets of their own department
only — another department's dataset answers as if it did not exist (404). Rows are placed
in grids of the steward's own area (``registry.placement``).

The flow:

1. ``propose_plan``: the file's headers mapped to the dataset's standard fields (the
   source's saved mapping, else synonyms), and the key column; ``check_plan`` refuses a
   mapping that cannot work, naming the field.
2. ``validate``: a dry run of the whole pipeline (``pipeline``): counts — rows, to create,
   to update, unchanged, bad — the row report and a masked sample. Nothing is written.
3. ``import_file``: an ``ImportRun`` with its own copy of the file; up to
   ``BACKGROUND_ROWS`` rows it is executed at once, longer files are queued for the worker
   (``run_queued``, claimed atomically so two workers never run one import).
4. ``execute``: ONE transaction — lock the dataset, prepare, place, classify and write every
   row (upsert by dataset and key; an unchanged row writes nothing — except, in a dataset
   with a retention period, the time its source last listed it), save the mapping to the
   source, one audit record ``registry.import`` (counts, dataset, file name, SHA-256; no
   values). Bad rows refuse the whole import unless the steward chose to leave them out;
   any failure rolls everything back and the run says why. Progress is written outside the
   transaction (``progress``) so the page can show it while the transaction runs. Persons
   whose rows changed are then refreshed (survivorship); new rows get their person from
   linkage.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts.permissions import has_permission, require_permission
from wangge.audit.context import Actor, acting_as
from wangge.audit.services import record
from wangge.catalog.models import Dataset
from wangge.core.tables import UnreadableTable, estimate_rows, file_kind, open_table

from ..models import ImportRun, ImportSource, RunStatus
from ..placement import Placer
from . import store
from .mapping import (
    MappingProblem,
    check_mapping,
    dataset_fields,
    default_key_column,
    key_to_save,
    propose,
)
from .pipeline import Pass, Report, build_spec, pool_size
from .progress import Progress, read_progress

log = logging.getLogger(__name__)

PERMISSION = "registry.import"
# Files with more rows than this are committed by the worker, not the request.
BACKGROUND_ROWS = 2000
SOURCE_NAME_MAX = 80
FILE_NAME_MAX = 200
FINISHED = (RunStatus.DONE, RunStatus.REFUSED, RunStatus.FAILED)


class MappingRefused(Exception):
    """The mapping cannot be used; ``problems`` name the fields at fault."""

    def __init__(self, problems: list[MappingProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


class _Refused(Exception):
    """Raised inside the transaction: bad rows, and the steward did not choose to skip them."""

    def __init__(self, report: Report) -> None:
        super().__init__("bad rows")
        self.report = report


@dataclass
class Plan:
    """What the steward chose: the dataset, the source (by name), the mapping and the key."""

    dataset: Dataset
    source_name: str
    mapping: dict[str, str]
    key_column: str

    def config(self, skip_bad: bool) -> dict:
        """As kept on the run (``ImportRun.mapping``)."""
        return {"columns": dict(self.mapping), "key_column": self.key_column,
                "skip_bad": bool(skip_bad)}


# -- who, and into which dataset --------------------------------------------------------------


def require_importer(user, token=None) -> None:
    require_permission(user, PERMISSION, token)


def importable_datasets(user) -> QuerySet[Dataset]:
    """The active datasets of the user's own department."""
    if getattr(user, "department_id", None) is None:
        return Dataset.objects.none()
    return Dataset.objects.filter(department_id=user.department_id, is_active=True).order_by(
        "name", "code")


def get_dataset(user, *, pk: int | None = None, code: str | None = None,
                token=None) -> Dataset:
    """One of the user's importable datasets; anything else is a 404, like a missing one."""
    require_importer(user, token)
    lookup = {"pk": pk} if pk is not None else {"code": code or ""}
    try:
        return importable_datasets(user).get(**lookup)
    except (Dataset.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def clean_source_name(name: str) -> str:
    """The source's name, tidied; ``ValueError`` with a message when unusable."""
    text = " ".join((name or "").split())
    if not text:
        raise ValueError(_("Name the source of the file (e.g. 街道摸排 2025)."))
    if len(text) > SOURCE_NAME_MAX:
        raise ValueError(_("A source name has at most %(max)d characters.")
                         % {"max": SOURCE_NAME_MAX})
    return text


def find_source(dataset: Dataset, name: str) -> ImportSource | None:
    return ImportSource.objects.filter(dataset=dataset, name=name).first()


def sources_of(user) -> QuerySet[ImportSource]:
    return ImportSource.objects.filter(dataset__in=importable_datasets(user)).select_related(
        "dataset").order_by("dataset__name", "name")


# -- mapping ----------------------------------------------------------------------------------


def propose_plan(dataset: Dataset, source_name: str, headers: list[str]) -> Plan:
    """The mapping and key shown first (saved for this source, else suggested)."""
    source = find_source(dataset, source_name)
    codes = [f.code for f in dataset_fields(dataset)]
    mapping = propose(headers, codes, source.mapping if source else None)
    key = default_key_column(headers, mapping, source.key_field if source else "")
    return Plan(dataset, source_name, mapping, key)


def check_plan(plan: Plan, headers: list[str]) -> list[MappingProblem]:
    return check_mapping(headers, plan.mapping, plan.key_column, dataset_fields(plan.dataset))


def _required(dataset: Dataset) -> list[str]:
    return [f.code for f in dataset_fields(dataset) if f.required]


# -- the dry run ------------------------------------------------------------------------------


def validate(user, plan: Plan, path: Path | str, file_name: str, token=None) -> Report:
    """Check every row as the commit would, write nothing: counts, problems, masked sample.

    Raises ``UnreadableTable`` for a file that is not a table and ``MappingRefused`` for a
    mapping that cannot be used.
    """
    require_importer(user, token)
    with open_table(path, file_name) as table:
        problems = check_plan(plan, table.header)
        if problems:
            raise MappingRefused(problems)
        placer = Placer(user, grid_required=plan.dataset.flows_down)
        spec = build_spec(table.header, plan.mapping, plan.key_column,
                          _required(plan.dataset), seal=False,
                          want_address=placer.uses_addresses)
        check = Pass(plan.dataset.pk, spec, placer,
                     check_existing=store.has_rows(plan.dataset.pk))
        return check.run(table.rows(), processes=pool_size(estimate_rows(path, file_name)))


# -- runs -------------------------------------------------------------------------------------


def files_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports" / "files"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _store_file(run: ImportRun, path: Path) -> str:
    """Copy the upload beside the run (the worker reads it there); returns its SHA-256."""
    with path.open("rb") as handle:
        kind = file_kind(run.file_name, handle.read(64 * 1024))
    target = files_dir() / f"{run.pk}.{kind}"
    digest = hashlib.sha256()
    with path.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(1024 * 1024):
            digest.update(chunk)
            dst.write(chunk)
    target.chmod(0o600)
    run.stored_path = str(target)
    return digest.hexdigest()


def create_run(user, plan: Plan, path: Path | str, file_name: str, *, skip_bad: bool,
               queued: bool, token=None) -> ImportRun:
    """A run for ``plan`` with its own copy of the file, queued for the worker or ready to
    execute now (status running)."""
    require_importer(user, token)
    if plan.dataset.department_id != getattr(user, "department_id", None):
        raise Http404
    path = Path(path)
    with open_table(path, file_name) as table:  # an unreadable file never becomes a run
        problems = check_plan(plan, table.header)
    if problems:
        raise MappingRefused(problems)
    source, _created = ImportSource.objects.get_or_create(
        dataset=plan.dataset, name=plan.source_name, defaults={"updated_by": user})
    now = timezone.now()
    run = ImportRun.objects.create(
        source=source, file_name=file_name[:FILE_NAME_MAX], sha256="",
        mapping=plan.config(skip_bad), created_by=user,
        status=RunStatus.QUEUED if queued else RunStatus.RUNNING,
        started_at=None if queued else now, total_rows=estimate_rows(path, file_name))
    run.sha256 = _store_file(run, path)
    run.save(update_fields=["sha256", "stored_path"])
    return run


def import_file(user, plan: Plan, path: Path | str, file_name: str, *, skip_bad: bool = False,
                background: bool | None = None, token=None) -> ImportRun:
    """Import a file: executed now when short (or ``background=False``), else queued."""
    if background is None:
        background = estimate_rows(path, file_name) > BACKGROUND_ROWS
    run = create_run(user, plan, path, file_name, skip_bad=skip_bad, queued=background,
                     token=token)
    if not background:
        run = execute(run)
    return run


def claim(run_id: int) -> bool:
    """Take a queued run for this process; of two workers asking, exactly one gets it."""
    return bool(ImportRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=timezone.now()))


# A run still "running" after this long lost its worker (a crash or a restart): its one
# transaction was rolled back, so nothing was written and it can be said so.
STALE_RUN = timedelta(hours=6)


def fail_abandoned_runs(now=None) -> int:
    """Mark runs whose worker died mid-import as failed, saying nothing was written."""
    cutoff = (now or timezone.now()) - STALE_RUN
    return ImportRun.objects.filter(status=RunStatus.RUNNING, started_at__lt=cutoff).update(
        status=RunStatus.FAILED, finished_at=now or timezone.now(),
        error=_("The worker stopped during this import; nothing was written. Upload "
                "the file again."))


def run_queued(limit: int = 1) -> int:
    """The worker's job: execute up to ``limit`` queued runs, oldest first."""
    fail_abandoned_runs()
    done = 0
    queued = ImportRun.objects.filter(status=RunStatus.QUEUED).order_by("created_at", "id")
    for run_id in list(queued.values_list("id", flat=True)[:20]):
        if done >= limit:
            break
        if not claim(run_id):
            continue  # another worker took it
        run = ImportRun.objects.select_related("source__dataset", "created_by__region").get(
            pk=run_id)
        with acting_as(Actor.for_user(run.created_by)):
            execute(run)
        done += 1
    return done


def _finish(run: ImportRun, report: Report | None, status: str, error: str = "") -> None:
    run.status = status
    run.finished_at = timezone.now()
    run.error = error
    fields = ["status", "finished_at", "error", "stored_path"]
    if report is not None:
        written = status == RunStatus.DONE
        run.total_rows = run.processed_rows = report.rows
        run.created = report.created if written else 0
        run.updated = report.updated if written else 0
        run.unchanged = report.unchanged if written else 0
        run.problem_count = report.problem_count
        run.problems = [p.as_dict() for p in report.problems]
        fields += ["total_rows", "processed_rows", "created", "updated", "unchanged",
                   "problem_count", "problems"]
    run.stored_path = ""
    run.save(update_fields=fields)


def _commit(run: ImportRun, plan: Plan, table, progress: Progress) -> Report:
    """The one transaction of a run (see the module docstring)."""
    config = run.mapping
    user = run.created_by
    dataset = plan.dataset
    placer = Placer(user, grid_required=dataset.flows_down)
    spec = build_spec(table.header, plan.mapping, plan.key_column, _required(dataset),
                      seal=True, want_address=placer.uses_addresses)
    with transaction.atomic():
        store.lock(dataset.pk)
        writer = store.writer_for(dataset.pk, run.pk, timezone.now())
        one = Pass(dataset.pk, spec, placer, writer, check_existing=store.has_rows(dataset.pk),
                   touch_unchanged=dataset.retention_days is not None)
        report = one.run(table.rows(), processes=pool_size(run.total_rows),
                         on_progress=progress.update)
        if report.bad_rows and not config.get("skip_bad"):
            raise _Refused(report)
        progress.update(report.rows, "committing", force=True)
        source = run.source
        source.mapping = {h: plan.mapping.get(h, "") for h in table.header}
        source.key_field = key_to_save(plan.mapping, plan.key_column)
        source.updated_by = user
        source.save(update_fields=["mapping", "key_field", "updated_by", "updated_at"])
        _finish(run, report, RunStatus.DONE)
        record("registry.import", run, detail={
            "dataset": dataset.code, "source": source.name, "file": run.file_name,
            "sha256": run.sha256, **report.summary(),
            "skipped_bad_rows": report.bad_rows if config.get("skip_bad") else 0})
    return report


def _still_allowed(run: ImportRun) -> None:
    """A queued run imports only if its steward still may (role, department, active)."""
    user = run.created_by
    if not has_permission(user, PERMISSION) or \
            run.source.dataset.department_id != user.department_id or \
            not run.source.dataset.is_active:
        raise PermissionDenied(_("%(user)s may no longer import into this dataset")
                               % {"user": user.get_username()})


def execute(run: ImportRun) -> ImportRun:
    """Execute a claimed run (status running): one transaction, or nothing (see above)."""
    run = ImportRun.objects.select_related("source__dataset", "created_by__region").get(
        pk=run.pk)
    config = run.mapping
    plan = Plan(run.source.dataset, run.source.name, dict(config.get("columns", {})),
                config.get("key_column", ""))
    progress = Progress(run.pk, run.total_rows)
    progress.update(0, "starting", force=True)
    report = None
    try:
        _still_allowed(run)
        with open_table(run.stored_path, run.file_name) as table:
            problems = check_plan(plan, table.header)
            if problems:  # the dataset's fields changed since the run was queued
                raise MappingRefused(problems)
            report = _commit(run, plan, table, progress)
    except _Refused as refused:
        _finish(run, refused.report, RunStatus.REFUSED)
    except (MappingRefused, UnreadableTable, PermissionDenied) as exc:
        _finish(run, None, RunStatus.FAILED, str(exc))
    except Exception as exc:
        log.exception("import run %s failed", run.pk)
        _finish(run, None, RunStatus.FAILED,
                _("the import failed and nothing was written (%(error)s)")
                % {"error": f"{type(exc).__name__}: {str(exc)[:200]}"})
    finally:
        progress.clear()
        _remove_file(run)
    if run.status == RunStatus.DONE and report is not None and report.person_ids:
        from ..survivorship import refresh_persons

        refresh_persons(report.person_ids)
    run.report = report  # what this process saw (timings included); not stored
    return run


def _remove_file(run: ImportRun) -> None:
    """The run's copy of the file holds personal data: it goes when the run ends."""
    for path in files_dir().glob(f"{run.pk}.*"):
        path.unlink(missing_ok=True)


# -- reading runs -----------------------------------------------------------------------------


def visible_runs(user) -> QuerySet[ImportRun]:
    """Runs into the datasets of the user's department."""
    return ImportRun.objects.filter(source__dataset__in=importable_datasets(user)).select_related(
        "source__dataset", "created_by")


def get_run(user, pk: int, token=None) -> ImportRun:
    require_importer(user, token)
    try:
        return visible_runs(user).get(pk=pk)
    except (ImportRun.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def run_progress(run: ImportRun) -> dict:
    """Status, processed and total rows (and the percentage) of a run, live while it runs."""
    processed, total, phase = run.processed_rows, run.total_rows, ""
    if run.status == RunStatus.RUNNING:
        live = read_progress(run.pk) or {}
        processed = live.get("processed", 0)
        total = live.get("total", total)
        phase = live.get("phase", "")
    elif run.status == RunStatus.QUEUED:
        processed = 0
    percent = 100 if run.status in FINISHED else (
        min(99, int(processed * 100 / total)) if total else 0)
    return {"status": run.status, "processed": processed, "total": total, "phase": phase,
            "percent": percent, "finished": run.status in FINISHED}


def report_csv(problems: list[dict]) -> str:
    """The row report as CSV (row, column, field, reason) — no values, so no personal data.
    With a BOM, so Excel opens the Chinese headers correctly."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([_("row"), _("column"), _("field"), _("reason")])
    for p in problems:
        writer.writerow([p.get("row", ""), p.get("column", ""), p.get("field", ""),
                         p.get("message", "")])
    return out.getvalue()


def copy_upload(upload, target: Path) -> None:
    """Write an uploaded file (Django ``UploadedFile``) to ``target`` chunk by chunk."""
    with target.open("wb") as dst:
        for chunk in upload.chunks():
            dst.write(chunk)

