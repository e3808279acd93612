"""``wangge create-account NAME --role R --region CODE``: an account from the server's CLI."""

from __future__ import annotations

import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from wangge.accounts.roles import Role
from wangge.accounts.services import create_account


class Command(BaseCommand):
    help = "Create an account bound to a region node (and optionally a department)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--region", help="region node code")
        parser.add_argument("--department", help="department code")
        parser.add_argument("--name", default="", help="display name")
        parser.add_argument("--password", help="omit to be asked (not echoed)")
        parser.add_argument("--phone", default="",
                            help="kept masked and as a blind index (links a resident's cases)")

    def handle(self, *args, **o):
        password = o["password"] or getpass.getpass("password: ")
        try:
            user = create_account(None, username=o["username"], role=o["role"],
                                  password=password, region_code=o["region"],
                                  department_code=o["department"], display_name=o["name"],
                                  phone=o["phone"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        where = user.region.code if user.region else "whole deployment"
        self.stdout.write(self.style.SUCCESS(f"created {user.username} ({user.role}, {where})"))
