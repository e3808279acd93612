"""``wangge registry_import FILE --dataset CODE --source NAME --as USER``: a department file
into its dataset, as the import page would do it (same checks, same one transaction).

The mapping is the source's saved one, else suggested from the headers; ``--map 身份证号=id_number``
(repeatable; ``=`` alone ignores a column) changes single columns, ``--key`` names the key
column. ``--dry-run`` checks and counts only; ``--skip-bad`` imports the valid rows and leaves
the bad ones out. It runs in this process whatever the file's size (the command line is
already in the background) and prints the row report: row, column, field, reason — never a
value.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from wangge.accounts.models import User
from wangge.audit.context import Actor, acting_as
from wangge.core.tables import UnreadableTable, read_header
from wangge.registry.imports import service
from wangge.registry.models import RunStatus

SHOWN_PROBLEMS = 50


class Command(BaseCommand):
    help = "Import a department's CSV or XLSX file into one of its datasets; all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dataset", required=True, help="the dataset's code")
        parser.add_argument("--source", required=True,
                            help="the source's name (its saved mapping is reused)")
        parser.add_argument("--as", dest="username", required=True,
                            help="the data steward importing (her department owns the dataset)")
        parser.add_argument("--map", dest="changes", action="append", default=[],
                            metavar="HEADER=FIELD",
                            help="map a column to a standard field (FIELD empty: ignore it)")
        parser.add_argument("--key", default=None, help="the key column's header")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--skip-bad", action="store_true",
                            help="import the valid rows and leave the bad ones out")

    def handle(self, *args, file, dataset, source, username, changes, key, dry_run,
               skip_bad, **options):
        user = User.objects.select_related("region").filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"no file {file!r}")
        with acting_as(Actor.for_user(user)):
            try:
                target = service.get_dataset(user, code=dataset)
                name = service.clean_source_name(source)
                headers = read_header(path)
                plan = service.propose_plan(target, name, headers)
                self._adjust(plan, headers, changes, key)
                if dry_run:
                    report = service.validate(user, plan, path, path.name)
                    self._print_report(report.summary(), [p.as_dict() for p in report.problems])
                    return
                run = service.import_file(user, plan, path, path.name, skip_bad=skip_bad,
                                          background=False)
            except Http404:
                raise CommandError(f"{username} cannot import into a dataset {dataset!r} "
                                   "(none of her department's active datasets)") from None
            except (UnreadableTable, ValueError) as exc:
                raise CommandError(f"{path.name}: {exc}") from None
            except service.MappingRefused as exc:
                raise CommandError("the mapping cannot be used:\n  " + "\n  ".join(
                    p.message for p in exc.problems)) from None
        self._print_report({"rows": run.total_rows, "created": run.created,
                            "updated": run.updated, "unchanged": run.unchanged,
                            "problem_count": run.problem_count}, run.problems)
        if run.status == RunStatus.REFUSED:
            raise CommandError(f"nothing imported: {run.problem_count} problem(s) in the rows "
                               "(fix them, or --skip-bad to leave the bad rows out)")
        if run.status != RunStatus.DONE:
            raise CommandError(f"nothing imported: {run.error}")
        self.stdout.write(self.style.SUCCESS(f"import run {run.pk} done"))

    @staticmethod
    def _adjust(plan: service.Plan, headers: list[str], changes: list[str],
                key: str | None) -> None:
        for change in changes:
            header, sep, code = change.partition("=")
            if not sep or header not in headers:
                raise CommandError(f"--map {change!r}: expected HEADER=FIELD with a header "
                                   f"of the file ({', '.join(headers)})")
            plan.mapping[header] = code.strip()
        if key is not None:
            plan.key_column = key

    def _print_report(self, counts: dict, problems: list[dict]) -> None:
        self.stdout.write(", ".join(f"{k} {v}" for k, v in counts.items()))
        for p in problems[:SHOWN_PROBLEMS]:
            self.stdout.write(f"  row {p['row']} {p['column']} ({p['field']}): {p['message']}")
        if len(problems) > SHOWN_PROBLEMS or counts.get("problem_count", 0) > SHOWN_PROBLEMS:
            self.stdout.write(f"  … {counts.get('problem_count', len(problems)) - SHOWN_PROBLEMS}"
                              " more")
