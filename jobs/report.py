"""Terminal output shared by the commands: a stage's stats as a rich table."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from corpus.stats import StageStats

console = Console(stderr=False)


def print_stats(stats: StageStats, output: str) -> None:
    """Print documents in/out, drops per reason, bytes and seconds of one stage run."""
    table = Table(title=f"{stats.stage} -> {output}", show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("documents in", f"{stats.docs_in:,}")
    table.add_row("documents out", f"{stats.docs_out:,}")
    for reason, n in sorted(stats.dropped.items()):
        table.add_row(f"  dropped: {reason}", f"{n:,}")
    for name, n in sorted(stats.counters.items()):
        table.add_row(f"  {name}", f"{n:,}")
    if stats.files_in:
        table.add_row("files in", f"{stats.files_in:,}")
    if stats.bytes_in:
        table.add_row("MB in", f"{stats.bytes_in / 1e6:,.2f}")
    table.add_row("MB out", f"{stats.bytes_out / 1e6:,.2f}")
    table.add_row("seconds", f"{stats.seconds:,.1f}")
    if stats.seconds > 0 and stats.docs_in:
        table.add_row("documents/s", f"{stats.docs_in / stats.seconds:,.0f}")
    console.print(table)
