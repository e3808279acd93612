"""``wangge workflow-diagram [--check]``: write docs/workflow.md from the transition table."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from wangge.cases.diagram import markdown


class Command(BaseCommand):
    help = "Generate docs/workflow.md from the workflow table (--check: fail if it is stale)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true")

    def handle(self, *args, check: bool, **options):
        path = settings.BASE_DIR / "docs" / "workflow.md"
        text = markdown()
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                raise CommandError(f"{path} is stale: run `wangge workflow-diagram`")
            self.stdout.write("docs/workflow.md matches the workflow table")
            return
        path.write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {path}")
