"""The ``wangge`` command: Django's management commands with hyphenated names.

``wangge import-divisions DIR`` runs the ``import_divisions`` command; ``wangge audit verify``
runs ``audit`` with its ``verify`` action.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.config.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
