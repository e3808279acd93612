"""``wangge import-hotline FILE --as USER [--dry-run]``: 12345 work orders into cases."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from wangge.accounts.models import User
from wangge.audit.context import Actor, acting_as
from wangge.cases.hotline import import_hotline


class Command(BaseCommand):
    help = "Import 12345 hotline work orders (CSV or XLSX); all rows or none."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--as", dest="username", required=True,
                            help="the account the orders are filed by (staff, command, machine)")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, file, username, dry_run, **options):
        user = User.objects.select_related("region").filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        path = Path(file)
        with acting_as(Actor.for_user(user)):
            report = import_hotline(user, path.name, path.read_bytes(), dry_run=dry_run)
        if not report.ok:
            raise CommandError("nothing imported:\n  " + "\n  ".join(report.errors))
        verb = "would file" if dry_run else "filed"
        self.stdout.write(self.style.SUCCESS(
            f"{report.rows} work orders: {verb} {report.created} new cases, "
            f"{report.unchanged} already imported"))
