"""Coordinate reference systems of incoming points (坐标系): converted explicitly, never guessed.

Boundaries are stored in WGS-84 / CGCS2000 (the national geodetic system; the two agree to a
few centimetres, far below what a grid boundary means, so they are treated as one). Phones and
map apps in China mostly give something else:

- GCJ-02 (国测局坐标, "火星坐标"): AMap/高德, Tencent/腾讯, Apple Maps in China. A published
  non-linear offset of a few hundred metres applied to WGS-84 inside China, none outside.
- BD-09 (百度坐标): Baidu, a further rotation/scaling applied on top of GCJ-02.

Only the forward directions (WGS-84 → GCJ-02 → BD-09) are defined in closed form; the inverses
are found here by iterating the forward transform to convergence (a fixed point, because the
offset changes slowly with position) rather than by the common one-step approximation, which is
off by up to a couple of metres — enough to put a point near an edge into the wrong grid.

All functions take scalars or numpy arrays (vectorised for bulk locate) and return the same.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import ArrayLike

CRS_NAMES: Final = ("wgs84", "cgcs2000", "gcj02", "bd09")
# Spellings accepted for each name: case and a hyphen/underscore are not information.
_ALIASES: Final = {name: name for name in CRS_NAMES}

# Krasovsky 1940 ellipsoid, which the GCJ-02 offset formula is written against.
_GCJ_A: Final = 6378245.0
_GCJ_EE: Final = 0.00669342162296594323
# The rectangle the published algorithm treats as "China"; outside it GCJ-02 is WGS-84.
_CHINA_LON: Final = (72.004, 137.8347)
_CHINA_LAT: Final = (0.8293, 55.8271)
_BD_XPI: Final = math.pi * 3000.0 / 180.0

# Inverse iteration stops when the forward transform of the estimate lands this close (degrees)
# to the input: 1e-9° is about 0.1 mm, well inside the 1e-7° asked of it.
INVERSE_TOLERANCE_DEG: Final = 1e-9
_MAX_ITERATIONS: Final = 30


def normalise_crs(crs: str) -> str:
    """The canonical name of ``crs`` or ValueError naming it (and what is accepted)."""
    key = str(crs).strip().lower().replace("-", "").replace("_", "")
    try:
        return _ALIASES[key]
    except KeyError:
        raise ValueError(
            f"unknown coordinate system {crs!r}: use one of {', '.join(CRS_NAMES)}"
        ) from None


def _out_of_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return ~((lon >= _CHINA_LON[0]) & (lon <= _CHINA_LON[1])
             & (lat >= _CHINA_LAT[0]) & (lat <= _CHINA_LAT[1]))


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (dlon, dlat) in degrees at WGS-84 position (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    shared = (20.0 * np.sin(6.0 * pi * x) + 20.0 * np.sin(2.0 * pi * x)) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    t_lat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
             + shared
             + (20.0 * np.sin(pi * y) + 40.0 * np.sin(pi * y / 3.0)) * 2.0 / 3.0
             + (160.0 * np.sin(pi * y / 12.0) + 320.0 * np.sin(pi * y / 30.0)) * 2.0 / 3.0)
    t_lon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
             + shared
             + (20.0 * np.sin(pi * x) + 40.0 * np.sin(pi * x / 3.0)) * 2.0 / 3.0
             + (150.0 * np.sin(pi * x / 12.0) + 300.0 * np.sin(pi * x / 30.0)) * 2.0 / 3.0)
    rad_lat = np.radians(lat)
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = t_lat * 180.0 / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * pi)
    dlon = t_lon * 180.0 / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * pi)
    return dlon, dlat


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=np.float64),
                                       np.asarray(lat, dtype=np.float64))
    return lon_a, lat_a


def _like_input(lon: np.ndarray, lat: np.ndarray, scalar: bool):
    if scalar:
        return float(lon), float(lat)
    return lon, lat


def _is_scalar(lon: ArrayLike, lat: ArrayLike) -> bool:
    return np.ndim(lon) == 0 and np.ndim(lat) == 0


def _wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _gcj_offset(lon, lat)
    outside = _out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def _gcj02_to_bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_XPI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_XPI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _invert(forward, lon: np.ndarray, lat: np.ndarray, guess_lon: np.ndarray,
            guess_lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve forward(w) = (lon, lat) by fixed-point iteration from the guess.

    w ← w + (target − forward(w)) converges because the offset's derivative is tiny (the
    offset changes by well under 1% of a step per step), gaining several digits each round.
    """
    w_lon, w_lat = guess_lon.copy(), guess_lat.copy()
    for _ in range(_MAX_ITERATIONS):
        f_lon, f_lat = forward(w_lon, w_lat)
        e_lon, e_lat = lon - f_lon, lat - f_lat
        w_lon += e_lon
        w_lat += e_lat
        # NaN inputs never converge and never matter: they stay NaN.
        err = np.fmax(np.abs(e_lon), np.abs(e_lat))
        if not np.any(err >= INVERSE_TOLERANCE_DEG):
            break
    return w_lon, w_lat


def _gcj02_to_wgs84(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Start from the input itself: outside China that is already the answer (a fixed point).
    return _invert(_wgs84_to_gcj02, lon, lat, lon, lat)


def _bd09_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # The usual closed-form reversal of the rotation is a good first guess (≈1 m off).
    x = lon - 0.0065
    y = lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_XPI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_XPI)
    return _invert(_gcj02_to_bd09, lon, lat, z * np.cos(theta), z * np.sin(theta))


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike):
    """WGS-84 → GCJ-02 (火星坐标), e.g. to draw stored boundaries over an AMap base map."""
    scalar = _is_scalar(lon, lat)
    return _like_input(*_wgs84_to_gcj02(*_as_arrays(lon, lat)), scalar)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike):
    """GCJ-02 → BD-09 (百度坐标)."""
    scalar = _is_scalar(lon, lat)
    return _like_input(*_gcj02_to_bd09(*_as_arrays(lon, lat)), scalar)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike):
    """WGS-84 → BD-09."""
    scalar = _is_scalar(lon, lat)
    return _like_input(*_gcj02_to_bd09(*_wgs84_to_gcj02(*_as_arrays(lon, lat))), scalar)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike):
    """GCJ-02 → WGS-84, the exact inverse of :func:`wgs84_to_gcj02` (iterated)."""
    scalar = _is_scalar(lon, lat)
    return _like_input(*_gcj02_to_wgs84(*_as_arrays(lon, lat)), scalar)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike):
    """BD-09 → WGS-84, the exact inverse of :func:`wgs84_to_bd09` (iterated)."""
    scalar = _is_scalar(lon, lat)
    return _like_input(*_gcj02_to_wgs84(*_bd09_to_gcj02(*_as_arrays(lon, lat))), scalar)


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str):
    """Convert points given in ``crs`` to WGS-84/CGCS2000, the system boundaries are stored in.

    ``crs`` is one of ``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09`` (case, "-" and "_" ignored);
    anything else raises ValueError naming it. Returns floats for scalar input, arrays for
    arrays.
    """
    name = normalise_crs(crs)
    scalar = _is_scalar(lon, lat)
    lon_a, lat_a = _as_arrays(lon, lat)
    if name in ("wgs84", "cgcs2000"):
        return _like_input(lon_a.copy(), lat_a.copy(), scalar)
    if name == "gcj02":
        return _like_input(*_gcj02_to_wgs84(lon_a, lat_a), scalar)
    return _like_input(*_gcj02_to_wgs84(*_bd09_to_gcj02(lon_a, lat_a)), scalar)
