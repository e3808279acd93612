"""``wangge check-deploy``: refuse DEBUG, default secrets and loose keys before going live."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, SystemCheckError

from wangge.core.checks import deploy_problems


class Command(BaseCommand):
    help = "Check that this configuration is fit for production; exit non-zero if not."

    def handle(self, *args, **options):
        problems = [f"[{p.code}] {p.message}" for p in deploy_problems()]
        try:
            # Django's own deployment checks (HSTS, secure cookies, SSL redirect …).
            call_command("check", deploy=True, fail_level="WARNING", stdout=self.stdout)
        except SystemCheckError as exc:
            problems.append(f"[django] {exc}")
        if problems:
            raise CommandError("NOT fit for deployment:\n  " + "\n  ".join(problems))
        self.stdout.write(self.style.SUCCESS("deployment configuration OK"))
