"""``wangge import-geojson FILE``: load communities and grids from a GeoJSON FeatureCollection."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from wangge.regions.importers.geojson import DEFAULT_SOURCE, import_geojson


class Command(BaseCommand):
    help = (
        "Load or update communities (社区/村, level 5) and grids (网格, level 6) from a GeoJSON "
        "FeatureCollection (WGS-84 lon/lat). Validates everything first and writes all or "
        "nothing; every problem is printed, one per line."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="GeoJSON FeatureCollection")
        parser.add_argument("--dry-run", action="store_true",
                            help="validate and count, write nothing")
        parser.add_argument("--source", default=DEFAULT_SOURCE,
                            help="tag stored on imported nodes (default: %(default)s)")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        report = import_geojson(data, source=options["source"], dry_run=options["dry_run"],
                                origin=str(path))
        if not report.ok:
            for line in report.error_lines():
                self.stderr.write(line)
            raise CommandError(report.summary("features"))
        self.stdout.write(self.style.SUCCESS(report.summary("features")))
