"""Terminal output shared by the commands: a stage's stats, an experiment's runs and an audit's figures, as rich
tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from analysis.visible_text import visible
from corpus.stats import StageStats

console = Console(stderr=False)


def shown(text: Any) -> str:
    """`text` safe to print in a rich table or line: rich's markup escaped (a dump named `[/]` failed the
    audit, `[link=...]` hid a link in it) and unprintable characters written as `\\xNN` / `\\uNNNN`."""
    return escape(visible(text))


def print_stats(stats: StageStats, output: str) -> None:
    """Print documents in/out, drops per reason, bytes and seconds of one stage run."""
    table = Table(title=f"{stats.stage} -> {escape(output)}", show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("documents in", f"{stats.docs_in:,}")
    table.add_row("documents out", f"{stats.docs_out:,}")
    for reason, n in sorted(stats.dropped.items()):
        table.add_row(f"  dropped: {shown(reason)}", f"{n:,}")
    for name, n in sorted(stats.counters.items()):
        table.add_row(f"  {shown(name)}", f"{n:,}")
    if stats.skipped:  # bytes of the input no record came from: a damaged or unreadable file shows here
        spans = sum(stats.skipped.values())
        table.add_row("skipped spans (not records)", f"{spans:,}", style="yellow")
        for reason, n in sorted(stats.skipped.items()):
            table.add_row(f"  skipped: {shown(reason)}", f"{n:,}", style="yellow")
        table.add_row("  skipped MB", f"{stats.skipped_bytes / 1e6:,.2f}", style="yellow")
    if stats.files_in:
        table.add_row("files in", f"{stats.files_in:,}")
    if stats.bytes_in:
        table.add_row("MB in", f"{stats.bytes_in / 1e6:,.2f}")
    table.add_row("MB out", f"{stats.bytes_out / 1e6:,.2f}")
    table.add_row("seconds", f"{stats.seconds:,.1f}")
    if stats.seconds > 0 and stats.docs_in:
        table.add_row("documents/s", f"{stats.docs_in / stats.seconds:,.0f}")
    console.print(table)
    if stats.skipped:
        console.print(
            f'[yellow]skipped spans and their offsets: {escape(output)}/_stats.json ("skipped")[/yellow]'
        )
    if stats.docs_in and not stats.docs_out and stats.dropped.get("empty_text") == stats.docs_in:
        console.print(
            "[yellow]no record had a text: where the input keeps it under another name, give "
            "--column text=FIELD (the rejects' details say what each record lacked: "
            f"{escape(output)}/_rejects/)[/yellow]"
        )


def results_table(
    rows: list[dict[str, Any]], title: str = "effective cutoff and long-tail accuracy"
) -> Table:
    """The grid's rows as a rich table: the measured cutoff, the gap to the newest training month, the share
    of resources that fit their newest version best, the audit's predicted cutoff, long-tail accuracy
    overall and on facts no training document holds, each with its 95% interval where the probe wrote one,
    and what guessing scores on those facts (chance: the mean over their probes of one over the number of
    candidates)."""
    table = Table(title=title)
    columns = ("run", "tokens", "newest month", "effective cutoff [95%]", "gap", "newest-version share [95%]")
    columns += ("predicted [95%]", "accuracy [95%]", "acc at 0 docs [95%]", "chance")
    for column in columns:
        table.add_column(column, justify="left" if column == "run" else "right")

    def pct(value: Any, low: Any = None, high: Any = None) -> str:
        """A proportion in percent, with its interval in percent where it has one."""
        if value is None:
            return "-"
        return f"{value:.1%} [{low * 100:.1f}, {high * 100:.1f}]" if low is not None else f"{value:.1%}"

    def span(month: Any, low: Any, high: Any) -> str:
        return "-" if not month else f"{month} [{low}, {high}]" if low else str(month)

    for row in rows:
        zero = row.get("zero_exposure") or {}
        zero_low, zero_high = zero.get("interval") or (None, None)
        table.add_row(
            str(row["run"]),
            f"{row['tokens']:,}",
            str(row.get("newest_month") or "-"),
            span(row.get("effective_cutoff"), row.get("cutoff_low"), row.get("cutoff_high")),
            str(row.get("gap_months") if row.get("gap_months") is not None else "-"),
            pct(row.get("newest_version_share"), *(row.get("newest_version_share_interval") or (None, None))),
            span(row.get("predicted_cutoff"), row.get("predicted_low"), row.get("predicted_high")),
            pct(row.get("accuracy"), row.get("accuracy_low"), row.get("accuracy_high")),
            pct(row.get("acc 0"), zero_low, zero_high),
            pct(zero.get("chance")),
        )
    return table


def print_audit_summary(summary: dict[str, Any], report_dir: str) -> None:
    """The headline figures, what the input lost (records rejected, spans skipped, documents dropped), the
    notes that say how to read them, and the per-dump table on the terminal."""
    head = summary["headline"]
    table = Table(title=f"audit -> {escape(report_dir)}", show_header=True, header_style="bold")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in head.items():
        table.add_row(key.replace("_", " "), _show(value, key.endswith(("_share", "_rate"))))
    if summary["sample"]["sampled"]:
        table.add_row("sample", f"{summary['sample']['fraction']:g} of the documents")
    for reason, n in summary["input_rejects"].items():
        table.add_row(f"input rejected: {shown(reason)}", f"{n:,}")
    for reason, n in summary.get("stage_rejects", {}).items():
        table.add_row(f"dropped by {shown(reason)}", f"{n:,}")
    skipped = summary.get("input_skipped") or {}
    if skipped:  # bytes of the input no record came from: an unreadable or unknown file shows here
        table.add_row("input skipped spans (not records)", f"{skipped['spans']:,}", style="yellow")
        for reason, n in skipped["by_reason"].items():
            table.add_row(f"  skipped: {shown(reason)}", f"{n:,}", style="yellow")
    if (summary.get("duplicates") or {}).get("repeat_copies") is not None:
        table.add_row("repeat copies (repeat_index > 0)", f"{summary['duplicates']['repeat_copies']:,}")
    console.print(table)
    for span in skipped.get("first", []):
        detail = f", {span['detail']}" if span.get("detail") else ""
        where = f"{span['input']} at byte {span['offset']:,} ({span['length']:,} bytes{detail})"
        console.print(f"[yellow]skipped {shown(span['reason'])}: {shown(where)}[/yellow]", highlight=False)
    for note in summary.get("notes", []):
        console.print(f"[yellow]{shown(note)}[/yellow]", highlight=False)
    dumps = Table(title="per dump", show_header=True, header_style="bold")
    dumps.add_column("dump", no_wrap=True)  # dump names are the key: never cut them
    for name in ("docs", "tokens", "dated", "exact", "near", "stale", "lag p50 (d)"):
        dumps.add_column(name, justify="right")
    for row in summary["by_dump"]:
        dumps.add_row(
            shown(row["dump"]),
            f"{row['documents']:,}",
            f"{row['tokens']:,}",
            _show(row["dated_share"], True),
            _show(row["exact_dup_rate"], True),
            _show(row["near_dup_rate"], True),
            _show(row["stale_share"], True),
            _show(row["lag_days"]["p50"] if row["lag_days"] else None),
        )
    console.print(dumps)
    console.print(f"report: {escape(report_dir)}/report.html")


def _show(value: Any, share: bool = False) -> str:
    """A figure for the terminal: shares as percentages, counts with thousands separators."""
    if value is None:
        return "n/a"
    if share:
        return f"{value:.1%}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
