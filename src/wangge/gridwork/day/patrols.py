"""Patrols — 巡查日志: start, GPS track points, stop; distance from the track itself.

A phone sends its fixes in batches, often late and sometimes twice: a point is stored once
per (patrol, time) and the distance is recomputed from all points in time order (haversine),
so batches arriving out of order or repeated still give the true length. A fix whose
accuracy is worse than ``MAX_ACCURACY_M`` is kept on the track but not counted in the
distance (a jump of a few hundred metres indoors is not a walk).

Patrols are named by the key the phone made when it started one (offline, before the server
knew); the key is namespaced by the account, so another worker's patrol cannot be reached.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from wangge.accounts.scope import visible_to
from wangge.audit.services import record
from wangge.core.refusals import Forbidden, Invalid, NotFound, require
from wangge.regions.geometry import distance_m

from ..models import Patrol, TrackPoint
from ..visits.service import FUTURE_SKEW, clean_key, namespaced

PERMISSION = "gridwork.work"
MAX_ACCURACY_M = 100.0
MAX_POINTS_PER_BATCH = 2000
NOTE_MAX = 1000
RECENT_PATROLS = 5
TRACK_POINTS_SHOWN = 500



def track_length_m(points: Iterable[tuple[float, float, float | None]]) -> float:
    """Length of a track of (lon, lat, accuracy) in time order, poor fixes left out."""
    total, previous = 0.0, None
    for lon, lat, accuracy in points:
        if accuracy is not None and accuracy > MAX_ACCURACY_M:
            continue
        if previous is not None:
            total += distance_m(previous[0], previous[1], lon, lat)
        previous = (lon, lat)
    return total


def parse_time(value, field: str) -> datetime.datetime:
    """An ISO 8601 time with its offset (what a phone's ``toISOString`` gives)."""
    at = parse_datetime(value) if isinstance(value, str) else None
    if at is None:
        raise Invalid(_("%(field)s: not a time (ISO 8601 expected).") % {"field": field},
                      field=field)
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at > timezone.now() + FUTURE_SKEW:
        raise Invalid(_("%(field)s: the time is in the future.") % {"field": field},
                      field=field)
    return at


def client_key(patrol: Patrol | None) -> str:
    """The key the phone made for ``patrol`` ("" for none)."""
    if patrol is None:
        return ""
    return patrol.client_key.split(":", 1)[1]


def recent(user) -> QuerySet[Patrol]:
    """The user's own recent patrols, newest first."""
    return visible_to(Patrol, user).filter(worker=user)[:RECENT_PATROLS]


def get_patrol(user, key: str, *, lock: bool = False) -> Patrol:
    """The user's patrol started under ``key``; another worker's answers ``NotFound``."""
    qs = Patrol.objects.select_for_update() if lock else Patrol.objects
    patrol = qs.filter(worker=user, client_key=namespaced(user, clean_key(key, "patrol"))).first()
    if patrol is None:
        raise NotFound(_("No patrol of yours with this key; start the patrol first."))
    return patrol


def start_patrol(user, *, key: str, started_at=None, note: str = "",
                 token=None) -> tuple[Patrol, bool]:
    """Start a patrol in the user's area; the same key again returns it unchanged."""
    require(user, PERMISSION, token)
    stored_key = namespaced(user, clean_key(key, "patrol"))
    at = parse_time(started_at, "started_at") if started_at else timezone.now()
    note = (note or "").strip()[:NOTE_MAX]
    existing = Patrol.objects.filter(client_key=stored_key).first()
    if existing is not None:
        return existing, False
    if user.region is None:
        raise Forbidden(_("Your account is bound to no area; patrols are kept per grid."))
    try:
        with transaction.atomic():
            _close_left_open(user, at, stored_key)
            patrol = Patrol.objects.create(worker=user, region=user.region,
                                           region_path=user.region.path, started_at=at,
                                           client_key=stored_key, note=note)
            record("gridwork.patrol.start", patrol, detail={"region": user.region.code})
    except IntegrityError:
        existing = Patrol.objects.filter(client_key=stored_key).first()
        if existing is None:
            raise
        return existing, False
    return patrol, True


def _close_left_open(user, before: datetime.datetime, new_key: str) -> None:
    """End the worker's patrols still open when she starts another (the phone lost the
    stop, or she forgot it): at their last fix, or their start when none came, so the
    hours counted are the ones the track shows."""
    for patrol in (Patrol.objects.select_for_update()
                   .filter(worker=user, ended_at__isnull=True, started_at__lte=before)):
        last = patrol.points.order_by("-at").values_list("at", flat=True).first()
        patrol.ended_at = min(max(last or patrol.started_at, patrol.started_at), before)
        patrol.save(update_fields=["ended_at"])
        record("gridwork.patrol.end", patrol, detail={
            "points": patrol.point_count, "distance_m": round(patrol.distance_m, 1),
            "closed_by_next": new_key.rsplit(":", 1)[-1]})


def _clean_points(points) -> list[TrackPoint]:
    if not isinstance(points, list) or not points:
        raise Invalid(_("points: send a list of GPS fixes."), field="points")
    if len(points) > MAX_POINTS_PER_BATCH:
        raise Invalid(_("points: at most %(n)d fixes per batch.") % {"n": MAX_POINTS_PER_BATCH},
                      field="points")
    out: dict[datetime.datetime, TrackPoint] = {}
    for i, p in enumerate(points):
        where = f"points[{i}]"
        if not isinstance(p, dict):
            raise Invalid(_("%(where)s: not a GPS fix.") % {"where": where}, field="points")
        try:
            lon, lat = float(p.get("lon")), float(p.get("lat"))
            accuracy = None if p.get("accuracy") is None else float(p["accuracy"])
        except (TypeError, ValueError):
            raise Invalid(_("%(where)s: lon and lat must be numbers.") % {"where": where},
                          field="points") from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90) or (accuracy is not None
                                                              and accuracy < 0):
            raise Invalid(_("%(where)s: lon/lat out of range.") % {"where": where},
                          field="points")
        at = parse_time(p.get("at"), f"{where}.at")
        out[at] = TrackPoint(at=at, lon=lon, lat=lat, accuracy_m=accuracy)
    return list(out.values())


def add_points(user, *, key: str, points: list[dict], token=None) -> dict:
    """Store a batch of fixes of the user's patrol ``key``; a fix already stored (same
    time) is skipped. Returns how many were new and the patrol's distance."""
    require(user, PERMISSION, token)
    fixes = _clean_points(points)
    with transaction.atomic():
        patrol = get_patrol(user, key, lock=True)
        known = set(patrol.points.filter(at__in=[f.at for f in fixes])
                    .values_list("at", flat=True))
        new = [f for f in fixes if f.at not in known]
        for f in new:
            f.patrol = patrol
        TrackPoint.objects.bulk_create(new, ignore_conflicts=True)
        if new:
            _recompute(patrol)
            record("gridwork.patrol.points", patrol, detail={
                "added": len(new), "points": patrol.point_count,
                "distance_m": round(patrol.distance_m, 1)})
    return {"patrol": patrol.pk, "added": len(new), "distance_m": patrol.distance_m}


def _recompute(patrol: Patrol) -> None:
    track = patrol.points.order_by("at").values_list("lon", "lat", "accuracy_m")
    rows = list(track)
    patrol.distance_m = track_length_m(rows)
    patrol.point_count = len(rows)
    patrol.save(update_fields=["distance_m", "point_count"])


def end_patrol(user, *, key: str, ended_at=None, token=None) -> Patrol:
    """End the user's patrol ``key`` (again: unchanged)."""
    require(user, PERMISSION, token)
    at = parse_time(ended_at, "ended_at") if ended_at else timezone.now()
    with transaction.atomic():
        patrol = get_patrol(user, key, lock=True)
        if patrol.ended_at is not None:
            return patrol
        if at < patrol.started_at:
            raise Invalid(_("A patrol cannot end before it started."), field="ended_at")
        patrol.ended_at = at
        patrol.save(update_fields=["ended_at"])
        record("gridwork.patrol.end", patrol, detail={
            "points": patrol.point_count, "distance_m": round(patrol.distance_m, 1),
            "minutes": round((at - patrol.started_at).total_seconds() / 60, 1)})
    return patrol


def track(patrol: Patrol) -> list[list[float]]:
    """The track as [[lat, lon], …] for a small map, thinned to ``TRACK_POINTS_SHOWN``."""
    rows = list(patrol.points.order_by("at").values_list("lat", "lon"))
    step = max(1, math.ceil(len(rows) / TRACK_POINTS_SHOWN))
    thinned = rows[::step]
    if rows and thinned[-1] != rows[-1]:
        thinned.append(rows[-1])
    return [[lat, lon] for lat, lon in thinned]
