"""The audit report's plots: matplotlib (Agg backend) figures of summary.json's tables, as PNG bytes.

Each plot reads only summary.json's values, so the plots, the HTML report (analysis/report.py) and the JSON
always show the same numbers."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: plots are rendered to PNG bytes only
from matplotlib.figure import Figure

from analysis.months import month_range, months_between
from analysis.visible_text import visible

DPI = 100
TOP_LANGUAGES = 20
MAX_GROUPED_BARS = 4  # more dumps than this: the staleness plot is a heat map
MAX_MONTH_BARS = 1200  # a hundred years of months; a wider span plots only the months with documents
COLOURS = ("#3b6ea5", "#d1495b", "#edae49", "#66a182", "#8d6a9f", "#00798c")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _empty(axes: Any, message: str) -> None:
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes, color="#666")
    axes.set_xticks([])
    axes.set_yticks([])


def _month_ticks(axes: Any, months: Sequence[str]) -> None:
    step = max(1, len(months) // 12)
    axes.set_xticks(range(0, len(months), step))
    axes.set_xticklabels(
        [months[i] for i in range(0, len(months), step)], rotation=45, ha="right", fontsize=8
    )


def plot_by_month(summary: dict[str, Any]) -> bytes:
    """Documents and tokens per content month; undated documents are noted, not plotted."""
    figure = Figure(figsize=(9, 5))
    top, bottom = figure.subplots(2, 1, sharex=True)
    rows = {r["month"]: r for r in summary["by_month"] if r["month"] != "unknown"}
    undated = sum(r["documents"] for r in summary["by_month"] if r["month"] == "unknown")
    if not rows:
        _empty(top, "no dated documents")
        _empty(bottom, "")
        return _png(figure)
    months = sorted(rows)
    gaps = ""
    if months_between(months[0], months[-1]) < MAX_MONTH_BARS:
        months = month_range(months)
    else:  # a placeholder date (9999-12-31) would make a bar of every month of eight thousand years
        gaps = f"; {months[0]} to {months[-1]}: only months with documents shown"
    top.bar(range(len(months)), [rows.get(m, {}).get("documents", 0) for m in months], color=COLOURS[0])
    bottom.bar(range(len(months)), [rows.get(m, {}).get("tokens", 0) for m in months], color=COLOURS[3])
    top.set_ylabel("documents")
    bottom.set_ylabel("tokens")
    top.set_title(f"Content month (created); {undated:,} undated documents not shown{gaps}", fontsize=10)
    _month_ticks(bottom, months)
    return _png(figure)


def plot_by_dump(summary: dict[str, Any]) -> bytes:
    """Documents per dump, and the exact-duplicate, near-duplicate and stale shares per dump."""
    rows = summary["by_dump"]
    figure = Figure(figsize=(9, max(3.0, 1.0 + 0.3 * len(rows))))
    left, right = figure.subplots(1, 2, sharey=True)
    if not rows:
        _empty(left, "no documents")
        _empty(right, "")
        return _png(figure)
    names = [visible(r["dump"]) for r in rows]
    left.barh(range(len(rows)), [r["documents"] for r in rows], color=COLOURS[0])
    left.set_yticks(range(len(rows)))
    left.set_yticklabels(names, fontsize=8)
    left.invert_yaxis()
    left.set_xlabel("documents")
    left.set_title("Documents per dump")
    width = 0.27
    shown = False
    for offset, (key, label, colour) in enumerate(
        (
            ("exact_dup_rate", "exact dup", COLOURS[1]),
            ("near_dup_rate", "near dup", COLOURS[2]),
            ("stale_share", "stale", COLOURS[4]),
        )
    ):
        values = [r[key] for r in rows]
        if all(v is None for v in values):
            continue
        shown = True
        right.barh(
            [i + (offset - 1) * width for i in range(len(rows))],
            [v or 0 for v in values],
            height=width,
            color=colour,
            label=label,
        )
    if shown:
        right.tick_params(labelleft=False)  # the dumps are named on the left panel (shared axis)
        right.set_xlim(0, 1)
        right.set_xlabel("share of documents")
        right.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3)
        right.set_title("Duplicates and stale versions")
    else:
        _empty(right, "dedup not run")
    return _png(figure)


def plot_by_language(summary: dict[str, Any]) -> bytes:
    """Documents per language, the most frequent TOP_LANGUAGES."""
    figure = Figure(figsize=(7, 5))
    axes = figure.subplots()
    rows = summary["by_language"][:TOP_LANGUAGES]
    if not rows:
        _empty(axes, "no documents")
        return _png(figure)
    axes.barh(range(len(rows)), [r["documents"] for r in rows], color=COLOURS[3])
    axes.set_yticks(range(len(rows)))
    axes.set_yticklabels([visible(r["lang"]) for r in rows], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("documents")
    more = len(summary["by_language"]) - len(rows)
    axes.set_title("Documents per language" + (f" (top {len(rows)}; {more} more)" if more > 0 else ""))
    return _png(figure)


def _bins_plot(axes: Any, bins: Sequence[dict[str, Any]], key: str, colour: str) -> None:
    axes.bar(range(len(bins)), [b[key] for b in bins], color=colour)
    axes.set_xticks(range(len(bins)))
    axes.set_xticklabels([b["label"] for b in bins], rotation=45, ha="right", fontsize=8)


def plot_lag(summary: dict[str, Any]) -> bytes:
    """Documents per bin of crawl date minus content date."""
    figure = Figure(figsize=(8, 4))
    axes = figure.subplots()
    lag = summary["lag"]
    if not lag["documents"]:
        _empty(axes, "no document has both a crawl date and a content date")
        return _png(figure)
    _bins_plot(axes, lag["bins"], "documents", COLOURS[0])
    axes.set_ylabel("documents")
    axes.set_title(f"Crawl-to-content lag ({lag['documents']:,} documents)")
    return _png(figure)


def plot_clusters(summary: dict[str, Any]) -> bytes:
    """Near-duplicate clusters per size bin, and the documents in them."""
    figure = Figure(figsize=(8, 4))
    left, right = figure.subplots(1, 2)
    bins = summary["duplicates"]["cluster_sizes"]
    if not bins:
        _empty(left, "dedup not run")
        _empty(right, "")
        return _png(figure)
    _bins_plot(left, bins, "clusters", COLOURS[0])
    left.set_yscale("symlog")
    left.set_title("Clusters by size")
    _bins_plot(right, bins, "documents", COLOURS[2])
    right.set_yscale("symlog")
    right.set_title("Documents by cluster size")
    return _png(figure)


def plot_staleness(summary: dict[str, Any]) -> bytes:
    """Stale documents per staleness bin and dump: grouped bars for a few dumps, a heat map (each dump's
    stale documents as shares of its row) for many, where bars would be unreadable."""
    groups = [g for g in summary["staleness"]["by_dump"] if any(b["documents"] for b in g["bins"])]
    if not groups:
        figure = Figure(figsize=(9, 4))
        axes = figure.subplots()
        _empty(axes, "no stale documents" if summary["staleness"]["by_dump"] else "dedup not run")
        return _png(figure)
    labels = [b["label"] for b in groups[0]["bins"]]
    title = "Staleness (newest version's date minus this version's) per dump"
    if len(groups) > MAX_GROUPED_BARS:
        figure = Figure(figsize=(9, 1.5 + 0.3 * len(groups)))
        axes = figure.subplots()
        counts = [[b["documents"] for b in g["bins"]] for g in groups]
        shares = [[c / max(1, sum(row)) for c in row] for row in counts]
        image = axes.imshow(shares, aspect="auto", cmap="Blues", vmin=0, vmax=1)
        axes.set_yticks(range(len(groups)))
        axes.set_yticklabels([visible(g["dump"]) for g in groups], fontsize=8)
        axes.set_xticks(range(len(labels)))
        axes.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
        figure.colorbar(image, ax=axes, label="share of the dump's stale documents")
        axes.set_title(title)
        return _png(figure)
    figure = Figure(figsize=(9, 4))
    axes = figure.subplots()
    width = 0.8 / len(groups)
    for n, group in enumerate(groups):
        axes.bar(
            [i + n * width for i in range(len(labels))],
            [b["documents"] for b in group["bins"]],
            width=width,
            label=visible(group["dump"]),
            color=COLOURS[n % len(COLOURS)],
        )
    axes.set_xticks([i + 0.4 - width / 2 for i in range(len(labels))])
    axes.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
    axes.set_ylabel("stale documents")
    axes.set_title(title)
    axes.legend(fontsize=8)
    return _png(figure)


def plot_version_months(summary: dict[str, Any]) -> bytes:
    """Token-weighted histogram of the reference version months the data holds, with the predicted cutoff
    (and its interval) and the measured one."""
    figure = Figure(figsize=(9, 4))
    axes = figure.subplots()
    reference = summary.get("reference") or {}
    rows = {r["month"]: r["tokens"] for r in reference.get("version_months", [])}
    if not rows:
        _empty(axes, "no document matched a reference version")
        return _png(figure)
    predicted = reference["predicted_cutoff"]
    measured = (summary.get("run") or {}).get("measured_effective_cutoff")
    marks = [m for m in (predicted.get("month"), measured, *(predicted.get("interval") or [])) if m]
    months = month_range(list(rows) + marks)
    axes.bar(range(len(months)), [rows.get(m, 0) for m in months], color=COLOURS[0])
    if predicted.get("interval"):
        low, high = (months.index(m) for m in predicted["interval"])
        axes.axvspan(
            low - 0.5, high + 0.5, color=COLOURS[2], alpha=0.25, label=f"{predicted['level']:.0%} interval"
        )
    if predicted.get("month"):
        axes.axvline(
            months.index(predicted["month"]),
            color=COLOURS[1],
            linestyle="--",
            label=f"predicted cutoff {predicted['month']}",
        )
    if measured:
        axes.axvline(months.index(measured), color="black", label=f"measured cutoff {measured}")
    axes.set_ylabel("tokens")
    axes.set_title(f"Version months held, token-weighted ({reference['resources_found']} resources)")
    _month_ticks(axes, months)
    axes.legend(fontsize=8)
    return _png(figure)


PLOTS: tuple[tuple[str, Callable[[dict[str, Any]], bytes]], ...] = (
    ("by_month.png", plot_by_month),
    ("by_dump.png", plot_by_dump),
    ("by_language.png", plot_by_language),
    ("lag.png", plot_lag),
    ("clusters.png", plot_clusters),
    ("staleness.png", plot_staleness),
    ("version_months.png", plot_version_months),
)


def render_plots(summary: dict[str, Any]) -> dict[str, bytes]:
    """Every plot of the report as PNG bytes, by file name (version_months.png only with a reference). Labels
    are plain text: a dump named `$x^{$` from the data was read as a formula and failed the audit; the data's
    control characters in them are written as escapes (analysis.visible_text), as the terminal shows them."""
    with matplotlib.rc_context({"text.parse_math": False}):
        return {
            name: plot(summary)
            for name, plot in PLOTS
            if name != "version_months.png" or summary.get("reference")
        }
