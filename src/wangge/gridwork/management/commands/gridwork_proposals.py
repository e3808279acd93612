"""``wangge gridwork-proposals --user NAME [--node CODE] [--month YYYY-MM]``: (re)compute
grid split/merge proposals (网格调整建议) for an area, as an account that may see it.

The account's scope and permission (``gridwork.staffing``) apply exactly as on the page; an
open proposal for the same grids is refreshed, never repeated."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from wangge.accounts.models import User
from wangge.core.refusals import Refusal
from wangge.gridwork.staffing import proposals


class Command(BaseCommand):
    help = "Compute grid split and merge proposals (网格调整建议) for an area."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True,
                            help="username of the account computing (its scope applies)")
        parser.add_argument("--node", help="region code (default: the account's node)")
        parser.add_argument("--month", help="YYYY-MM (default: the last 30 days)")

    def handle(self, *args, user, node=None, month=None, **options):
        account = User.objects.filter(username=user, is_active=True).first()
        if account is None:
            raise CommandError(f"no active account {user!r}")
        try:
            made = proposals.compute(account, node, month=month)
        except Refusal as exc:
            raise CommandError(exc.message) from None
        for p in made:
            self.stdout.write(f"{p.pk}\t{p.kind}\t{p.community.code}\t{','.join(p.grids)}")
        self.stdout.write(f"{len(made)} proposals")
