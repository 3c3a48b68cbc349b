"""Strings from the data made safe to show: the control characters (C0, DEL, C1) and bidirectional
overrides that crawled data carries (a WARC's isPartOf, a dataset's `dump` or `lang`) written as escapes."""

from __future__ import annotations

import re
from typing import Any

# From the data they reached the terminal raw (ESC sequences set its title or cleared it) and the report's
# plots as glyphs the font lacks (empty boxes, and a matplotlib warning each).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def visible(text: Any) -> str:
    """`text` as a string with each unprintable character written as `\\xNN` or `\\uNNNN`."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode(), str(text))
