"""The audit report: PNG plots (matplotlib, Agg backend) and one self-contained HTML page.

The page has no external resources: plots are embedded as base64 PNG data URIs and the style sheet is
inline, so the file can be mailed or attached to a ticket. Every headline figure is an element with a
`data-figure="<dotted path into summary.json>"` attribute whose text is `figure_text(value)` of that value,
so a test (or a reader) can check the page against summary.json.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: plots are rendered to PNG bytes only
from matplotlib.figure import Figure

from mixers.audit_figures import month_index, month_name

DPI = 100
TOP_LANGUAGES = 20
TABLE_ROWS = 40
MAX_GROUPED_BARS = 4  # more dumps than this: the staleness plot is a heat map
COLOURS = ("#3b6ea5", "#d1495b", "#edae49", "#66a182", "#8d6a9f", "#00798c")

# Headline figures shown as cards: (dotted key into summary.json, label, how to show a human reading).
HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("headline.documents", "documents", "count"),
    ("headline.tokens", "tokens", "count"),
    ("headline.dumps", "crawl dumps", "count"),
    ("headline.languages", "languages", "count"),
    ("headline.dated_share", "documents with a content date", "share"),
    ("headline.oldest_month", "oldest content month", "text"),
    ("headline.newest_month", "newest content month", "text"),
    ("headline.median_lag_days", "median crawl-to-content lag (days)", "text"),
    ("headline.exact_dup_rate", "exact-duplicate rate", "share"),
    ("headline.near_dup_rate", "near-duplicate rate", "share"),
    ("headline.stale_share", "stale share (documents)", "share"),
    ("headline.stale_token_share", "stale share (tokens)", "share"),
    ("headline.predicted_effective_cutoff", "predicted effective cutoff", "text"),
    ("headline.measured_effective_cutoff", "measured effective cutoff", "text"),
)


def figure_text(value: Any) -> str:
    """The text of a `data-figure` element for a summary.json value: the value as JSON would show it for
    numbers and strings (Python's str), `n/a` for null, `true`/`false` for booleans."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def lookup(summary: dict[str, Any], key: str) -> Any:
    """The value at a dotted path of summary.json (None where a part is missing or null)."""
    value: Any = summary
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


# ---------------------------------------------------------------------------------------------- plots
def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _empty(axes: Any, message: str) -> None:
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes, color="#666")
    axes.set_xticks([])
    axes.set_yticks([])


def _month_range(months: Sequence[str]) -> list[str]:
    """Every month from the first to the last of `months` (gaps shown as zero, not squeezed out)."""
    indices = [month_index(m) for m in months]
    return [month_name(i) for i in range(min(indices), max(indices) + 1)]


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
    months = _month_range(list(rows))
    top.bar(range(len(months)), [rows.get(m, {}).get("documents", 0) for m in months], color=COLOURS[0])
    bottom.bar(range(len(months)), [rows.get(m, {}).get("tokens", 0) for m in months], color=COLOURS[3])
    top.set_ylabel("documents")
    bottom.set_ylabel("tokens")
    top.set_title(f"Content month (created); {undated:,} undated documents not shown")
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
    names = [r["dump"] for r in rows]
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
    axes.set_yticklabels([r["lang"] for r in rows], fontsize=8)
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
        axes.set_yticklabels([g["dump"] for g in groups], fontsize=8)
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
            label=group["dump"],
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
    months = _month_range(list(rows) + marks)
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
    """Every plot of the report as PNG bytes, by file name (version_months.png only with a reference)."""
    return {
        name: plot(summary)
        for name, plot in PLOTS
        if name != "version_months.png" or summary.get("reference")
    }


# ---------------------------------------------------------------------------------------------- HTML
_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;line-height:1.4;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}
h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:.6rem}
.card{border:1px solid #ddd;border-radius:6px;padding:.5rem .7rem;background:#fafafa}
.card .label{font-size:.8rem;color:#555}.card .value{font-size:1.25rem;font-weight:600}
.card .human{font-size:.8rem;color:#666;margin-left:.3rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.85rem}
th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:right}th{background:#f0f0f0}
td.l,th.l{text-align:left;white-space:nowrap}img{max-width:100%;height:auto;display:block;margin:.6rem 0}
.note{background:#fff8e1;border-left:4px solid #edae49;padding:.5rem .8rem;margin:.8rem 0}
.muted{color:#666;font-size:.85rem}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _human(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "share" and isinstance(value, float):
        return f"({value:.1%})"
    if kind == "count" and isinstance(value, int):
        return f"({value:,})" if value >= 10_000 else ""
    return ""


def _figure(summary: dict[str, Any], key: str, tag: str = "span", css: str = "") -> str:
    """An element holding one summary value, tagged with its key for the check against summary.json."""
    cls = f' class="{css}"' if css else ""
    return f'<{tag}{cls} data-figure="{_e(key)}">{_e(figure_text(lookup(summary, key)))}</{tag}>'


def _img(name: str, png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}" data-plot="{_e(name)}">'


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 1) -> str:
    head = "".join(
        f'<th class="l">{_e(h)}</th>' if i < left else f"<th>{_e(h)}</th>" for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td class="l">{_e(c)}</td>' if i < left else f"<td>{_e(c)}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _num(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _p(values: dict[str, float] | None, key: str) -> str:
    return "n/a" if not values else _num(values.get(key))


def _gap_text(gap: int | None) -> str:
    """How the predicted cutoff relates to the measured one, in words."""
    if gap is None:
        return ""
    if gap == 0:
        return "; the prediction equals it"
    months = f"{abs(gap)} month{'s' if abs(gap) != 1 else ''}"
    return f"; the prediction is {months} {'after' if gap > 0 else 'before'} it"


def render_html(summary: dict[str, Any], plots: dict[str, bytes]) -> str:
    """The self-contained report page for `summary` with `plots` (file name -> PNG bytes) embedded."""
    parts: list[str] = []
    add = parts.append
    add('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">')
    add(f"<title>chronomix audit: {_e(summary['title'])}</title><style>{_STYLE}</style></head><body>")
    add(
        f'<h1>chronomix audit</h1><p class="muted">{_e(summary["title"])}<br>generated '
        f"{_e(summary['generated_at'])} from {len(summary['inputs'])} input file(s) in "
        f"{summary['seconds']} s</p>"
    )

    sample = summary["sample"]
    if sample["sampled"]:
        add(
            '<p class="note">This report audits a deterministic sample: '
            f"{_figure(summary, 'sample.fraction')} of the documents ({_e(sample['method'])}, "
            f"seed {_e(sample['seed'])}). Counts are of the sample; "
            "duplicate and stale rates are lower bounds, since both copies of a pair are kept only with "
            "probability fraction².</p>"
        )
    unavailable = {k: v for k, v in summary["stages"].items() if v.startswith("unavailable")}
    if unavailable:
        add(
            '<p class="note">Not computed: '
            + "; ".join(f"{_e(k)} ({_e(v)})" for k, v in unavailable.items())
            + ". Figures that need these stages show n/a.</p>"
        )

    add('<h2>Headline</h2><div class="cards">')
    for key, label, kind in HEADLINE:
        value = lookup(summary, key)
        add(
            f'<div class="card"><div class="label">{_e(label)}</div>{_figure(summary, key, "span", "value")}'
            f'<span class="human">{_e(_human(value, kind))}</span></div>'
        )
    add("</div>")
    coverage = summary["coverage"]
    add(
        f'<p class="muted">Of {_num(coverage["documents"])} documents: '
        f"{_num(coverage['with_created'])} have a "
        f"content date, {_num(coverage['with_crawl_date'])} a crawl date, {_num(coverage['with_lag'])} both; "
        f"{_num(coverage['negative_lag'])} content dates after the crawl; "
        f"{_num(coverage['with_n_tokens'])} token counts. Stages: "
        + ", ".join(f"{_e(k)}: {_e(v)}" for k, v in summary["stages"].items())
        + ".</p>"
    )
    if summary["input_rejects"]:
        add(
            "<p>Input records the reader rejected (not audited): "
            + ", ".join(f"{_e(k)} {_num(v)}" for k, v in summary["input_rejects"].items())
            + ".</p>"
        )

    add("<h2>Content time</h2>")
    add(_img("by_month.png", plots["by_month.png"], "documents and tokens per content month"))
    add("<details><summary>documents and tokens per month</summary>")
    add(
        _table(
            ["month", "documents", "tokens"],
            [(r["month"], _num(r["documents"]), _num(r["tokens"])) for r in summary["by_month"]],
        )
    )
    add("</details>")
    add('<table><thead><tr><th class="l">date decided by</th><th>documents</th></tr></thead><tbody>')
    for r in summary["by_date_source"]:
        add(f'<tr><td class="l">{_e(r["date_source"])}</td><td>{_num(r["documents"])}</td></tr>')
    add("</tbody></table>")
    lag = summary["lag"]
    add("<h2>Crawl-to-content lag</h2>")
    add(_img("lag.png", plots["lag.png"], "crawl-to-content lag histogram"))
    percentiles = lag["percentiles"]
    add(
        _table(
            ["", "p10", "p25", "median", "p75", "p90"],
            [["lag (days)", *(_p(percentiles, k) for k in ("p10", "p25", "p50", "p75", "p90"))]],
        )
    )

    add("<h2>Crawl dumps</h2>")
    add(_img("by_dump.png", plots["by_dump.png"], "documents, duplicates and stale share per dump"))
    add(
        _table(
            [
                "dump",
                "documents",
                "tokens",
                "dated",
                "oldest",
                "newest",
                "median lag (d)",
                "exact dup",
                "near dup",
                "stale",
                "stale tokens",
                "median staleness (d)",
                "p90 staleness (d)",
            ],
            [
                (
                    r["dump"],
                    _num(r["documents"]),
                    _num(r["tokens"]),
                    _pct(r["dated_share"]),
                    _num(r["oldest_month"]),
                    _num(r["newest_month"]),
                    _p(r["lag_days"], "p50"),
                    _pct(r["exact_dup_rate"]),
                    _pct(r["near_dup_rate"]),
                    _pct(r["stale_share"]),
                    _pct(r["stale_token_share"]),
                    _p(r["staleness_days"], "p50"),
                    _p(r["staleness_days"], "p90"),
                )
                for r in summary["by_dump"]
            ],
        )
    )

    add("<h2>Languages</h2>")
    add(_img("by_language.png", plots["by_language.png"], "documents per language"))
    languages = summary["by_language"]
    add(
        _table(
            ["language", "documents", "tokens", "share"],
            [
                (r["lang"], _num(r["documents"]), _num(r["tokens"]), _pct(r["document_share"]))
                for r in languages[:TABLE_ROWS]
            ],
        )
    )
    if len(languages) > TABLE_ROWS:
        add(f'<p class="muted">{len(languages) - TABLE_ROWS} more languages in summary.json.</p>')

    dups = summary["duplicates"]
    add("<h2>Duplicates and stale versions</h2>")
    add(
        f"<p>Exact duplicates {_pct(dups['exact_dup_rate'])}; documents in a near-duplicate cluster of two "
        "or "
        f"more {_pct(dups['near_dup_rate'])}; keeping one document per cluster would remove "
        f"{_pct(dups['removable_share'])}; {_num(dups['clusters'])} clusters. Stale (an older version of a "
        f"resource whose newer version is also here): {_pct(summary['staleness']['stale_share'])}.</p>"
    )
    add(_img("clusters.png", plots["clusters.png"], "cluster size distribution"))
    add(_img("staleness.png", plots["staleness.png"], "staleness distribution per dump"))

    reference = summary.get("reference")
    run = summary.get("run")
    add("<h2>Reference versions and effective cutoff</h2>")
    if reference:
        predicted = reference["predicted_cutoff"]
        add(
            f"<p>{_num(reference['documents_matched'])} documents matched versions of "
            f"{_num(reference['resources_found'])} of the {_num(reference['resources_in_reference'])} "
            "resources "
            f"in the reference ({_e(reference['reference'])}).</p>"
        )
        add(_img("version_months.png", plots["version_months.png"], "token-weighted version months"))
        interval = predicted.get("interval")
        add(
            f"<p>Predicted effective cutoff: {_figure(summary, 'reference.predicted_cutoff.month', 'strong')}"
            + (
                f", {predicted['level']:.0%} interval {_e(interval[0])} to {_e(interval[1])}"
                if interval
                else ""
            )
            + f". {_prediction_model(predicted)}; the interval is a percentile bootstrap over "
            f"resources ({_num(predicted['bootstrap_samples'])} samples).</p>"
        )
        add(
            _table(
                [
                    "resource",
                    "documents",
                    "tokens",
                    "versions held",
                    "of available",
                    "newest held",
                    "newest available",
                    "months behind",
                    "predicted month",
                ],
                [
                    (
                        r["resource"],
                        _num(r["documents"]),
                        _num(r["tokens"]),
                        len(r["versions_held"]),
                        _num(r["versions_available"]),
                        r["newest_held"],
                        _num(r["newest_available"]),
                        _num(r["months_behind"]),
                        _num(r["predicted_month"]),
                    )
                    for r in reference["resources"][:TABLE_ROWS]
                ],
            )
        )
    else:
        add(
            '<p class="muted">No reference versions given (--reference): no version histogram and no '
            "predicted effective cutoff.</p>"
        )
    if run:
        gap = run.get("predicted_minus_measured_months")
        add(
            f"<p>Measured effective cutoff of the trained run {_e(run['run'])}: "
            f"{_figure(summary, 'run.measured_effective_cutoff', 'strong')} (newest month in its training "
            "data "
            f"{_num(run.get('newest_month_in_training'))}, gap {_num(run.get('gap_months'))} months)"
            + _gap_text(gap)
            + ".</p>"
        )
    add("</body></html>")
    return "\n".join(parts)


def _prediction_model(predicted: dict[str, Any]) -> str:
    """One sentence on how the cutoff was predicted (mixers.audit_figures)."""
    if predicted["statistic"] == "curve":
        return (
            "Model: the probe's curve from the data alone (per resource and month, the share of the "
            "resource's tokens held of the version in effect that month, z-scored per resource; over "
            f"resources the {_e(predicted['aggregate'])}; the month of the minimum)"
        )
    return (
        f"Model: per resource the token-weighted {_e(predicted['statistic'])} of the version months held; "
        f"over resources the {_e(predicted['aggregate'])}"
    )
