"""The audit report as one self-contained HTML page, rendered from the Jinja2 template
`analysis/templates/report.html.j2`.

The page has no external resources: plots are embedded as base64 PNG data URIs and the style sheet is
inline, so the file can be mailed or attached to a ticket. Every headline figure is an element with a
`data-figure="<dotted path into summary.json>"` attribute whose text is `figure_text(value)` of that value,
so a test (or a reader) can check the page against summary.json.
"""

from __future__ import annotations

import base64
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

TABLE_ROWS = 40  # rows of the per-language and per-resource tables (summary.json keeps them all)

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


def human(value: Any, kind: str) -> str:
    """A card's reading aid: a share as a percentage, a large count with thousands separators."""
    if value is None:
        return ""
    if kind == "share" and isinstance(value, float):
        return f"({value:.1%})"
    if kind == "count" and isinstance(value, int):
        return f"({value:,})" if value >= 10_000 else ""
    return ""


def pct(value: float | None) -> str:
    """A share as a percentage with one decimal; n/a for None."""
    return "n/a" if value is None else f"{value:.1%}"


def whole_pct(value: float) -> str:
    """A share as a whole percentage (an interval's level)."""
    return f"{value:.0%}"


def num(value: Any) -> str:
    """A count with thousands separators, anything else as text; n/a for None."""
    if value is None:
        return "n/a"
    return f"{value:,}" if isinstance(value, int) else str(value)


def percentile(values: dict[str, float] | None, key: str) -> str:
    """One percentile (`p50`, ...) of a summary's percentile table; n/a where there is none."""
    return "n/a" if not values else num(values.get(key))


def gap_text(gap: int | None) -> str:
    """How the predicted cutoff relates to the measured one, in words."""
    if gap is None:
        return ""
    if gap == 0:
        return "; the prediction equals it"
    months = f"{abs(gap)} month{'s' if abs(gap) != 1 else ''}"
    return f"; the prediction is {months} {'after' if gap > 0 else 'before'} it"


def data_uri(png: bytes) -> str:
    """PNG bytes as a data URI, for an <img> that needs no file beside the page."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


_ENVIRONMENT = Environment(
    loader=PackageLoader("analysis", "templates"),
    autoescape=select_autoescape(["html", "j2"], default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENVIRONMENT.filters.update(
    figure_text=figure_text,
    human=human,
    pct=pct,
    whole_pct=whole_pct,
    num=num,
    percentile=percentile,
    gap_text=gap_text,
)
_ENVIRONMENT.globals.update(lookup=lookup, data_uri=data_uri, HEADLINE=HEADLINE, TABLE_ROWS=TABLE_ROWS)


def render_html(summary: dict[str, Any], plots: dict[str, bytes]) -> str:
    """The self-contained report page for `summary` with `plots` (file name -> PNG bytes) embedded."""
    return _ENVIRONMENT.get_template("report.html.j2").render(summary=summary, plots=plots)
