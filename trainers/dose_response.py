"""The dose-response of an experiment grid: how a run's effective-cutoff gap moves with its world's share of
stale mirrors, as one slope with its spread.

Worlds that differ only in `stale_share` form a family (world/dumps.py draws mirrors on a stream of their own,
so the worlds of one seed hold the same captures, news and filler at every share). Within a family and a
mixture, each replicate (the same world, mixture and initialisation seeds in every world) gives one value per
share, and the least-squares line through them its slope: the replicate's dose-response. Over replicates the
slopes get a mean with a 95% t-interval, in the field's units per 10 points of stale share (months of gap; or
newest-version share), and the count of positive slopes. A paired design, as the grid's contrasts are, but
one figure over every share where the contrasts compare two worlds at a time.

A replicate needs its value at three shares or more for a slope: at two it is the difference that the grid's
contrasts already hold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from analysis.t_interval import mean_interval

PER_POINTS = 0.1  # slopes are given per 10 points of stale share
MIN_SHARES = 3


def _replicate_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (row.get("world_seed"), row.get("mixture_seed"), row.get("init_seed"))


def dose_response(rows: Sequence[Mapping[str, Any]], field: str = "gap_months") -> list[dict[str, Any]]:
    """Per (mixture, family of worlds that differ only in stale_share) with at least MIN_SHARES shares: the
    worlds and their shares (ascending), the replicates' slopes of `field` per 10 points of stale share, their
    mean_interval and how many are positive. Rows need `world`, `stale_share`, `world_settings` (the world's
    other settings, one string per family) and the three seeds; rows without a share are left out."""
    # per family: each replicate's (share, value) points, and each world's share (two worlds of one family at
    # one share, the same world config twice, are two points of the same replicate's line)
    families: dict[tuple[str, str], dict[tuple[Any, ...], list[tuple[float, float]]]] = {}
    worlds: dict[tuple[str, str], dict[str, float]] = {}
    for row in rows:
        share, value = row.get("stale_share"), row.get(field)
        if share is None or value is None or row.get("world") is None or not np.isfinite(value):
            continue
        family = (str(row["mixture"]), str(row.get("world_settings") or ""))
        families.setdefault(family, {}).setdefault(_replicate_key(row), []).append(
            (float(share), float(value))
        )
        worlds.setdefault(family, {})[str(row["world"])] = float(share)
    out = []
    for family, replicates in families.items():
        if len(set(worlds[family].values())) < MIN_SHARES:
            continue
        slopes = [
            float(np.polyfit(*zip(*points, strict=True), 1)[0]) * PER_POINTS
            for points in replicates.values()
            if len({share for share, _ in points}) >= MIN_SHARES
        ]
        if not slopes:
            continue
        named = sorted(worlds[family].items(), key=lambda item: (item[1], item[0]))
        out.append(
            {
                "mixture": family[0],
                "field": field,
                "worlds": [name for name, _ in named],
                "shares": [share for _, share in named],
                "slope_per_10_points": mean_interval(slopes),
                "slopes": slopes,
                "positive": sum(s > 0 for s in slopes),
            }
        )
    return out


def dose_response_lines(families: Sequence[Mapping[str, Any]]) -> list[str]:
    """The dose-response section of summary.md (no lines where the grid has no family)."""
    if not families:
        return []
    lines = [
        "",
        "## Dose response (slope per 10 points of stale-mirror share; replicates paired across shares)",
        "",
        "| field | mixture | worlds (stale share) | slope per 10 points [95% t] | replicates | slopes > 0 |",
        "|---|---|---|---|---|---|",
    ]
    for f in families:
        stat = f["slope_per_10_points"]
        digits = 1 if f["field"] == "gap_months" else 3
        interval = "" if stat["low"] is None else f" [{stat['low']:+.{digits}f}, {stat['high']:+.{digits}f}]"
        worlds = ", ".join(f"{w} ({s:g})" for w, s in zip(f["worlds"], f["shares"], strict=True))
        lines.append(
            f"| {f['field']} | {f['mixture']} | {worlds} | {stat['mean']:+.{digits}f}{interval} | {stat['n']} | "
            f"{f['positive']}/{stat['n']} |"
        )
    return lines
