"""Case photos — 照片: checked, thumbnailed, stored outside the web root, served in scope only.

The type is judged from the file's first bytes (JPEG, PNG, WebP), never from its name or the
client's Content-Type; Pillow must then decode it as that same type. Files get random names
under ``MEDIA_ROOT/cases`` — a directory no URL maps to — and are read back only through
``photo_file``, which first fetches the case through the caller's scope.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from wangge.accounts.permissions import has_permission
from wangge.accounts.scope import visible_to
from wangge.audit.services import record

from ..models import Case, Photo
from ..workflow import OPEN_STATES, State
from .common import audit_actor
from .errors import (
    CaseConflict,
    CaseForbidden,
    CaseInvalid,
    CaseNotFound,
    PhotoTooLarge,
    PhotoUnsupported,
)

MAX_PHOTO_BYTES = int(getattr(settings, "CASE_PHOTO_MAX_BYTES", 10 * 1024 * 1024))
# A small file can still decode to a huge bitmap (a "decompression bomb"); 50 megapixels is
# beyond any phone camera.
MAX_PIXELS = 50_000_000
THUMB_SIZE = (320, 320)
GPS_IFD = 0x8825
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def sniff(head: bytes) -> str | None:
    """The image type from the file's magic bytes, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def photo_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "cases"


def _rational(value) -> float:
    if isinstance(value, tuple) and len(value) == 2:  # (numerator, denominator)
        return value[0] / value[1] if value[1] else 0.0
    return float(value)


def _gps_of(image: Image.Image) -> tuple[float, float] | None:
    """The EXIF GPS position as WGS-84 lon/lat (what GPS receivers record), or None."""
    try:
        gps = image.getexif().get_ifd(GPS_IFD)
    except Exception:  # malformed EXIF is common and never a reason to refuse a photo
        return None
    try:
        lat_ref, lat, lon_ref, lon = gps.get(1), gps.get(2), gps.get(3), gps.get(4)
        if not (lat and lon):
            return None
        lat_deg = sum(_rational(v) / 60 ** i for i, v in enumerate(lat))
        lon_deg = sum(_rational(v) / 60 ** i for i, v in enumerate(lon))
        if str(lat_ref).upper().startswith("S"):
            lat_deg = -lat_deg
        if str(lon_ref).upper().startswith("W"):
            lon_deg = -lon_deg
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not (-90 <= lat_deg <= 90 and -180 <= lon_deg <= 180) or (lat_deg == 0 and lon_deg == 0):
        return None
    return round(lon_deg, 7), round(lat_deg, 7)


@dataclass
class _Checked:
    data: bytes
    content_type: str
    width: int
    height: int
    gps: tuple[float, float] | None
    thumb: bytes


def check_image(uploaded) -> _Checked:
    """Size, type and decodability of an upload; its EXIF GPS and a JPEG thumbnail."""
    size = getattr(uploaded, "size", None)
    limit_mb = MAX_PHOTO_BYTES / (1024 * 1024)
    if size is not None and size > MAX_PHOTO_BYTES:
        raise PhotoTooLarge(_("the photo is %(size).1f MB; the limit is %(limit)s MB")
                            % {"size": size / (1024 * 1024), "limit": f"{limit_mb:g}"})
    data = uploaded.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoTooLarge(_("the photo is larger than the limit of %(limit)s MB")
                            % {"limit": f"{limit_mb:g}"})
    if not data:
        raise CaseInvalid(_("the photo is empty"), field="file")
    content_type = sniff(data[:16])
    if content_type is None:
        raise PhotoUnsupported(_("not a JPEG, PNG or WebP image (judged by the file's "
                                 "content, not its name)"))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format != PIL_FORMATS[content_type]:
                raise PhotoUnsupported(_("the file starts like %(type)s but is not one")
                                       % {"type": content_type})
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise CaseInvalid(_("the image is %(w)d×%(h)d pixels; at most %(mp)d "
                                    "megapixels") % {"w": width, "h": height,
                                                     "mp": MAX_PIXELS // 1_000_000},
                                  field="file")
            gps = _gps_of(probe)
            probe.load()
            thumb_img = ImageOps.exif_transpose(probe)
            thumb_img = thumb_img.convert("RGB")
            thumb_img.thumbnail(THUMB_SIZE)
            out = io.BytesIO()
            thumb_img.save(out, "JPEG", quality=80)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        raise CaseInvalid(_("the image is damaged or cannot be read (%(error)s)")
                          % {"error": type(exc).__name__}, field="file") from None
    return _Checked(data, content_type, width, height, gps, out.getvalue())


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def add_photo(actor, case: Case | None, uploaded) -> Photo:
    """Store an uploaded photo for ``case`` (visible to ``actor``), or unattached when ``case``
    is None (evidence taken before the report is filed; attached by intake or an action).

    Refused: a case the actor can't see (404) or that is finished (409), a file over the limit
    (413), not an image of an accepted type (415), damaged or oversized in pixels (422).
    """
    if case is None:
        if not has_permission(actor, "cases.report") and not has_permission(actor, "cases.view"):
            raise CaseForbidden(_("your role may not upload case photos"))
    else:
        if not visible_to(Case, actor).filter(pk=case.pk).exists():
            raise CaseNotFound(_("no such case"))
        if case.state not in OPEN_STATES and case.state != State.SUSPENDED:
            raise CaseConflict(_("case %(code)s is %(state)s; photos are added to open cases "
                                 "only") % {"code": case.code,
                                            "state": case.get_state_display()})
    checked = check_image(uploaded)
    token = secrets.token_hex(16)
    stored = f"{token[:2]}/{token}.{EXTENSIONS[checked.content_type]}"
    photo = Photo(case=case, stored_name=stored, content_type=checked.content_type,
                  size=len(checked.data), sha256=hashlib.sha256(checked.data).hexdigest(),
                  width=checked.width, height=checked.height, uploaded_by=actor)
    if checked.gps is not None:
        photo.exif_lon, photo.exif_lat = checked.gps
    root = photo_root()
    written = []
    try:
        for name, data in ((stored, checked.data), (photo.thumb_name, checked.thumb)):
            _write(root / name, data)
            written.append(root / name)
        with transaction.atomic():
            photo.save()
            record("cases.photo_add", photo, actor=audit_actor(actor), detail={
                "case": case.code if case else None, "type": checked.content_type,
                "size": photo.size, "sha256": photo.sha256, "exif_gps": checked.gps is not None})
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return photo


ORPHAN_GRACE_SECONDS = 3600  # a file younger than this may belong to a transaction in flight


def sweep_orphan_files(grace_seconds: float = ORPHAN_GRACE_SECONDS) -> int:
    """Remove stored files no photo row names — 清理孤儿文件. A photo's file is written before
    its row, so a transaction rolled back after ``add_photo`` (an intake that failed later, a
    crash) leaves the file behind; files older than the grace period with no row are such
    leftovers. Returns how many files were removed."""
    import time

    root = photo_root()
    if not root.is_dir():
        return 0
    cutoff = time.time() - grace_seconds
    removed = 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = [f for f in folder.iterdir() if f.is_file() and f.stat().st_mtime < cutoff]
        if not files:
            continue
        known = set()
        for name in Photo.objects.filter(stored_name__startswith=f"{folder.name}/") \
                .values_list("stored_name", flat=True):
            known.add(name)
            known.add(Photo(stored_name=name).thumb_name)
        for f in files:
            if f"{folder.name}/{f.name}" not in known:
                f.unlink(missing_ok=True)
                removed += 1
    return removed


def photo_file(actor, photo_id: int, *, case_code: str | None, thumb: bool = False
               ) -> tuple[Photo, Path]:
    """The stored file of a photo the actor may see: on a case visible to them, or their own
    unattached upload. Anything else is "not found", like a photo that never existed."""
    if case_code is not None:
        case = visible_to(Case, actor).filter(code=case_code).first()
        photo = case.photos.filter(pk=photo_id).first() if case is not None else None
    else:
        photo = Photo.objects.filter(pk=photo_id, case__isnull=True,
                                     uploaded_by_id=getattr(actor, "pk", None)).first()
    if photo is None:
        raise CaseNotFound(_("no such photo"))
    path = photo_root() / (photo.thumb_name if thumb else photo.stored_name)
    if not path.is_file():
        raise CaseNotFound(_("the photo's file is missing from storage"))
    return photo, path
