"""``wangge audit verify``: walk the hash chain and name the first broken record."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from wangge.audit.services import verify_chain


class Command(BaseCommand):
    help = "Audit trail tools. 'verify' checks the hash chain end to end."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args, **options):
        result = verify_chain()
        if not result.ok:
            raise CommandError(
                f"audit chain BROKEN at record #{result.first_broken_seq}: {result.reason} "
                f"({result.checked} records before it are intact)"
            )
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {result.checked} records"))
