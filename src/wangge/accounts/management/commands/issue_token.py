"""``wangge issue-token USER --name N --scope S``: a token for a machine client (operator CLI)."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from wangge.accounts.roles import TOKEN_SCOPES
from wangge.accounts.services import issue_token


class Command(BaseCommand):
    help = "Issue an API token; the secret is printed once and never stored."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True)
        parser.add_argument("--scope", action="append", dest="scopes", required=True,
                            choices=sorted(TOKEN_SCOPES))
        parser.add_argument("--days", type=int, default=365, help="validity (0 = no expiry)")

    def handle(self, *args, username, name, scopes, days, **options):
        expires = timezone.now() + timedelta(days=days) if days else None
        try:
            token, secret = issue_token(None, username=username, name=name, scopes=scopes,
                                        expires_at=expires)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"token {token.prefix} for {username} ({', '.join(token.scopes)})")
        self.stdout.write(secret)
