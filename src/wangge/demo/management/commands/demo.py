"""``wangge demo --size S|M|L --seed N [--password P] [--reset]``: the demo city of 济南市.

Run again on a database that has the city, it renews the demo accounts' password and prints
the logins; ``--reset`` removes the demo's own rows first and builds the city anew.
"""

from __future__ import annotations

import time
import unicodedata
from io import StringIO

from django.core.management.base import BaseCommand, CommandError

from wangge.audit.context import Actor, acting_as
from wangge.cases.open311.clients import ensure_demo_open311_client
from wangge.demo.generator import DEMO_RESIDENT_PHONE, DemoError, DemoResult, generate_demo
from wangge.demo.layout import SIZES


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


class Command(BaseCommand):
    help = ("Build the demo city (济南市 with real district and street codes, synthetic "
            "communities, grids and boundaries) with accounts for every role.")

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(SIZES), default="S",
                            help="S ≈ 200 grids, M ≈ 3,000, L ≈ 30,000 (default S)")
        parser.add_argument("--seed", type=int, default=1,
                            help="same seed, same city (default 1)")
        parser.add_argument("--password",
                            help="password for every demo account (default: a random one)")
        parser.add_argument("--reset", action="store_true",
                            help="remove an existing demo city and build it anew")
        parser.add_argument("--history", type=int, default=None, metavar="N",
                            help="past cases to play through the workflow in the showcase "
                                 "district (default: 900 for S, more for M and L; 0 for none — "
                                 "and then no grid-work history either: tasks, visits, "
                                 "patrols)")

    def handle(self, *args, **options):
        size, seed = options["size"], options["seed"]
        verbose = options["verbosity"] >= 2 or (options["verbosity"] >= 1 and size != "S")
        started = time.perf_counter()

        def progress(line: str) -> None:
            if verbose:
                self.stdout.write(f"{line}  [{time.perf_counter() - started:.1f} s]")

        try:
            with acting_as(Actor.system("demo")):
                result = generate_demo(size, seed, password=options["password"],
                                       reset=options["reset"], progress=progress,
                                       history=options["history"])
                open311_line = StringIO()
                ensure_demo_open311_client(open311_line)
        except (DemoError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self._report(result, time.perf_counter() - started, (size, seed))
        # The Open311 client's key, on a line of its own (the demo's external client).
        self.stdout.write(open311_line.getvalue().strip())

    def _report(self, result: DemoResult, elapsed: float, requested: tuple[str, int]) -> None:
        out = self.stdout
        if result.created:
            c = result.counts
            out.write(self.style.SUCCESS(
                f"Demo city 济南市 built (size {result.size}, seed {result.seed}) in "
                f"{elapsed:.1f} s: {c['districts']} districts, {c['streets']} streets, "
                f"{c['communities']:,} communities, {c['grids']:,} grids, "
                f"{c['departments']} departments, {c['accounts']:,} accounts, "
                f"{c.get('history_cases', 0):,} past cases."))
        else:
            out.write(self.style.WARNING(
                f"The demo city already exists (size {result.size}, seed {result.seed}); "
                f"nothing rebuilt. The password of its {result.counts['accounts']:,} accounts "
                f"was renewed. Use --reset to build it anew"
                + ("" if (requested == (result.size, result.seed))
                   else f" as size {requested[0]}, seed {requested[1]}") + "."))
        out.write(f"Every demo account has the same password. Logins are also in "
                  f"{result.logins_file} (readable by you only).")
        out.write(f"resident1's phone is {DEMO_RESIDENT_PHONE}: enter it on a grid worker's "
                  "report and she can follow and rate that case.")
        header = ("role", "username", "scope node", "password")
        rows = [
            (x.role_label, x.username,
             " · ".join(p for p in (x.node or "(whole deployment)", x.department) if p),
             x.password)
            for x in result.logins
        ]
        widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
        out.write("")
        for row in [header, *rows]:
            out.write("  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True))
                      .rstrip())
