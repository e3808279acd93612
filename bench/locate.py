"""Benchmark: bulk locate() over the demo city's grids, checked against brute force.

    .venv/bin/python bench/locate.py [--size L] [--points N] [--seed S] [--check N]

Builds the city's grids with the demo layout (no database), times ``LocateIndex`` building
and a bulk locate of N uniform random points over the city's bounding box (best of 3), then
checks a sample against a brute-force answer that uses no spatial index: per grid, in code
order, a numpy bounding-box filter over x-sorted points and ``shapely.intersects_xy``; a point
takes the first (smallest) code that covers it. The sample includes every vertex of a few
thousand grids and the midpoints of their edges, so shared edges and vertices — the tie rule —
are exercised. Human lines go to stderr; the last line on stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import shapely

from wangge.demo.layout import build_layout
from wangge.regions.locate import NO_GRID, LocateIndex


def say(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def brute_force(codes: list[str], polygons: list, x: np.ndarray,
                y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The smallest code whose closed polygon covers each point (or None), and how many do.

    Uses no spatial index: every grid is tested against the points in its bounding box.
    """
    order = sorted(range(len(codes)), key=codes.__getitem__)
    by_x = np.argsort(x, kind="stable")
    xs, ys = x[by_x], y[by_x]
    answer = np.full(len(x), -1, dtype=np.int64)  # position in ``order``
    covering = np.zeros(len(x), dtype=np.int64)
    for rank, i in enumerate(order):
        minx, miny, maxx, maxy = polygons[i].bounds
        lo, hi = np.searchsorted(xs, minx, "left"), np.searchsorted(xs, maxx, "right")
        if lo == hi:
            continue
        sel = np.arange(lo, hi)
        sel = sel[(ys[sel] >= miny) & (ys[sel] <= maxy)]
        hit = sel[shapely.intersects_xy(polygons[i], xs[sel], ys[sel])]
        covering[hit] += 1
        hit = hit[answer[hit] < 0]  # grids come in code order: the first to cover wins
        answer[hit] = rank
    out = np.empty(len(x), dtype=object)
    sorted_codes = np.array([codes[i] for i in order] + [None], dtype=object)
    out[by_x] = sorted_codes[answer]  # -1 picks the trailing None
    count = np.empty(len(x), dtype=np.int64)
    count[by_x] = covering
    return out, count


def _timed(fn, *args) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def edge_points(polygons: list, rng: np.random.Generator, how_many: int) -> np.ndarray:
    """Vertices and edge midpoints of ``how_many`` random grids: points on shared boundaries."""
    pick = rng.choice(len(polygons), size=min(how_many, len(polygons)), replace=False)
    rings = shapely.get_exterior_ring(np.array([polygons[i] for i in pick], dtype=object))
    coords, owner = shapely.get_coordinates(rings, return_index=True)
    same = owner[:-1] == owner[1:]
    mids = (coords[:-1][same] + coords[1:][same]) / 2.0
    return np.vstack((coords, mids))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="L", help="demo city size: S, M or L (default L)")
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", type=int, default=100_000,
                        help="random points checked against brute force (default 100000)")
    parser.add_argument("--edge-grids", type=int, default=3_000,
                        help="grids whose vertices and edge midpoints are checked too")
    args = parser.parse_args(argv)

    t = time.perf_counter()
    layout = build_layout(args.size, args.seed)
    codes = [g.code for g in layout.grids]
    polygons = [g.polygon for g in layout.grids]
    say(f"layout {args.size}/{args.seed}: {len(codes)} grids in {time.perf_counter() - t:.1f}s")

    t = time.perf_counter()
    index = LocateIndex.from_polygons(codes, polygons)
    build_s = time.perf_counter() - t
    say(f"index built in {build_s:.2f}s: raster {index.nx}x{index.ny}, "
        f"{index.boundary_share:.1%} of cells need the exact test")

    rng = np.random.default_rng(args.seed)
    minx, miny, maxx, maxy = shapely.total_bounds(np.array(polygons, dtype=object))
    x = rng.uniform(minx, maxx, args.points)
    y = rng.uniform(miny, maxy, args.points)
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        found = index.locate(x, y)
        runs.append(time.perf_counter() - t)
    best = min(runs)
    assigned = float(np.mean(found != NO_GRID)) if len(found) else 0.0
    say(f"bulk locate of {args.points:,} points: best {best:.3f}s of "
        f"{', '.join(f'{r:.3f}' for r in runs)} → {args.points / best:,.0f} points/s; "
        f"{assigned:.1%} fall in a grid")

    check = min(args.check, args.points)
    on_edges = edge_points(polygons, rng, args.edge_grids)
    cx = np.concatenate((x[:check], on_edges[:, 0]))
    cy = np.concatenate((y[:check], on_edges[:, 1]))
    t = time.perf_counter()
    expected, covering = brute_force(codes, polygons, cx, cy)
    ties = int(np.sum(covering > 1))
    brute_s = time.perf_counter() - t
    positions = index.locate(cx, cy)
    got = np.where(positions == NO_GRID, None, index.codes[np.maximum(positions, 0)])
    mismatches = int(sum(a != b for a, b in zip(got.tolist(), expected.tolist(), strict=True)))
    say(f"checked {len(cx):,} points ({len(on_edges):,} on grid edges/vertices) against brute "
        f"force ({brute_s:.1f}s; {ties:,} of them in more than one grid): {mismatches} mismatches")

    # The same figure for points that all fall in a grid (none answered by an empty cell).
    inside = np.nonzero(found != NO_GRID)[0]
    xi, yi = x[inside], y[inside]
    inside_s = min(_timed(index.locate, xi, yi) for _ in range(3))
    say(f"points inside grids only: {len(xi) / inside_s:,.0f} points/s")

    print(json.dumps({
        "bench": "locate",
        "size": args.size,
        "seed": args.seed,
        "grids": len(codes),
        "points": args.points,
        "points_per_s": round(args.points / best),
        "locate_s": round(best, 4),
        "build_s": round(build_s, 3),
        "raster_cells": index.nx * index.ny,
        "boundary_cell_share": round(index.boundary_share, 4),
        "assigned_share": round(assigned, 4),
        "checked": len(cx),
        "checked_on_edges": len(on_edges),
        "checked_in_several_grids": ties,
        "mismatches": mismatches,
        "points_per_s_inside_grids": round(len(xi) / inside_s),
    }))
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
