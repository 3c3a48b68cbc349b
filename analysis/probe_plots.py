"""The probe's plots: the effective-cutoff curve (one run's, or a grid's runs together) and long-tail
accuracy per frequency bucket, as PNG files (matplotlib figures, no display needed)."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from analysis.months import month_index


def plot_cutoff(
    curve: Sequence[Mapping[str, Any]],
    cutoff: str | None,
    newest_month: str | None,
    path: str | Path,
    title: str = "",
) -> Path:
    """The curve as a PNG, with the effective cutoff and the newest training month marked."""
    figure = Figure(figsize=(8, 4))
    axes = figure.subplots()
    x = [month_index(r["month"]) for r in curve]
    axes.plot(x, [r["score"] for r in curve], marker="o", markersize=3, label="normalised NLL (trimmed mean)")
    if cutoff:
        axes.axvline(month_index(cutoff), color="tab:red", linestyle="--", label=f"effective cutoff {cutoff}")
    if newest_month:
        axes.axvline(
            month_index(newest_month),
            color="tab:green",
            linestyle=":",
            label=f"newest in data {newest_month}",
        )
    month_ticks(axes, [r["month"] for r in curve])
    axes.set_ylabel("normalised NLL (lower = fits better)")
    axes.set_title(title or "effective cutoff")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return Path(path)


def month_ticks(axes: Any, months: Sequence[str]) -> None:
    """About a dozen month labels on an axis whose x is month_index."""
    if not months:
        return
    step = max(1, len(months) // 12)
    shown = list(months)[::step]
    axes.set_xticks([month_index(m) for m in shown], shown, rotation=45, fontsize=7)


def plot_longtail(
    buckets: Sequence[Mapping[str, Any]], chance: float | None, path: str | Path, title: str = ""
) -> Path:
    """Accuracy against frequency bucket (log-spaced) as a PNG, with the chance level."""
    figure = Figure(figsize=(7, 4))
    axes = figure.subplots()
    x = list(range(len(buckets)))
    axes.plot(x, [b["accuracy"] for b in buckets], marker="o", label="accuracy")
    for xi, b in zip(x, buckets, strict=True):
        axes.annotate(
            f"n={b['n_probes']}", (xi, b["accuracy"]), fontsize=7, textcoords="offset points", xytext=(0, 5)
        )
    if chance is not None:
        axes.axhline(chance, color="grey", linestyle=":", label=f"chance {chance:.2f}")
    axes.set_xticks(x, [b["bucket"] for b in buckets], fontsize=8)
    axes.set_xlabel("training documents stating the fact (log-spaced buckets)")
    axes.set_ylabel("accuracy")
    axes.set_ylim(0, 1.05)
    axes.set_title(title or "long-tail accuracy")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return Path(path)


def plot_curves(
    curves: Mapping[str, str | Path], path: str | Path, title: str = "effective cutoff curves"
) -> Path:
    """All runs' cutoff curves (name -> cutoff_curve.csv) on one plot, each run's minimum marked."""
    figure = Figure(figsize=(9, 4.5))
    axes = figure.subplots()
    all_months: set[str] = set()
    for name, curve_path in curves.items():
        with Path(curve_path).open() as handle:
            rows = list(csv.DictReader(handle))
        if not rows:
            continue
        x = [month_index(r["month"]) for r in rows]
        y = [float(r["score"]) for r in rows]
        (line,) = axes.plot(x, y, marker="o", markersize=2, label=name)
        best = min(range(len(y)), key=y.__getitem__)
        axes.plot([x[best]], [y[best]], marker="v", markersize=9, color=line.get_color())
        all_months.update(r["month"] for r in rows)
    month_ticks(axes, sorted(all_months))
    axes.set_ylabel("normalised NLL (lower = fits better)")
    axes.set_title(title)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return Path(path)
