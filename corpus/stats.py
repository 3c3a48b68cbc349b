"""Per-stage accounting: documents in, out and dropped per reason, and a sample of every rejected input.

Every stage writes `_stats.json` beside its output with `docs_in == docs_out + sum(dropped.values())`, and a
sample of rejected records under `_rejects/`. Kernels report a rejected record by returning it with a
`reject_reason` (see REJECT_FIELDS) instead of dropping it, so counting happens once, in the job, from the
data itself: this stays exact under Spark task retries, where accumulators would double count.

Records and bytes are counted apart. `docs_in` counts records: every record that entered is either written
or dropped under one reason. Bytes of an input from which no record could be read (the rest of a corrupt gzip
member, junk appended after the last member, a file that is missing, empty or in no known format) are not
records: they are *skipped spans*, each with its input, byte offset and length, counted per reason under
`skipped` in `_stats.json`, and travel through a job as reject rows whose reason starts with SKIPPED_PREFIX.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

# Columns a kernel adds to rows it rejects; a row whose reject_reason is null is a good document.
REJECT_REASON = "reject_reason"
REJECT_FIELDS = [
    pa.field(REJECT_REASON, pa.string()),  # short machine-readable reason, e.g. "truncated_gzip"
    pa.field("reject_detail", pa.string()),  # one human-readable line: what was wrong and where
    pa.field("reject_input", pa.string()),  # the file (and record offset) it came from
    pa.field("reject_sample", pa.binary()),  # the first bytes of the bad input, for a look by hand
]
REJECT_SAMPLE_BYTES = 4096
# Rejects kept per reason under _rejects/ (the count in _stats.json is always complete).
REJECT_SAMPLES_PER_REASON = 100
# A reject row whose reason starts with this is a skipped span, not a record (see the module docstring).
SKIPPED_PREFIX = "skipped:"
# The skipped spans of a file that could not be read (to its end) for a reason that may pass: a server or a
# connection failing (corpus.reader_base). A damaged file is skipped for other reasons, which stay.
UNREAD_REASONS = ("unreadable_file", "read_failed")
# Skipped spans listed one by one in _stats.json (the counts are always complete).
SKIPPED_SPANS_LISTED = 100


@dataclass
class StageStats:
    """Counts of one stage run. Bytes are bytes of input read and of output written."""

    stage: str
    docs_in: int = 0
    docs_out: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0
    counters: Counter[str] = field(default_factory=Counter)  # non-drop events (e.g. dates clamped)
    files_in: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # skipped spans per reason (not records)
    skipped_bytes: int = 0
    skipped_spans: list[dict[str, Any]] = field(default_factory=list)  # the first SKIPPED_SPANS_LISTED
    # Remote input files not read to their end (spans in UNREAD_REASONS), every one: a pipeline's next run
    # reads them again (jobs.runner). Kept out of _stats.json, as a URI may carry credentials.
    unread_inputs: set[str] = field(default_factory=set)

    def skip(self, reason: str, n: int = 1, n_bytes: int = 0) -> None:
        """Count `n` skipped spans (not records) of `n_bytes` bytes in all, under `reason`."""
        self.skipped[reason] += n
        self.skipped_bytes += n_bytes

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] += n

    @property
    def balanced(self) -> bool:
        return self.docs_in == self.docs_out + sum(self.dropped.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "docs_in": self.docs_in,
            "docs_out": self.docs_out,
            "dropped": dict(sorted(self.dropped.items())),
            "dropped_total": sum(self.dropped.values()),
            "counters": dict(sorted(self.counters.items())),
            "files_in": self.files_in,
            "skipped": {
                "spans": sum(self.skipped.values()),
                "bytes": self.skipped_bytes,
                "by_reason": dict(sorted(self.skipped.items())),
                "first": self.skipped_spans,
            },
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "seconds": round(self.seconds, 3),
        }

    def to_json(self) -> str:
        """The text of `_stats.json`; AssertionError on counts that do not balance, which would mean a lost
        record, before anything is written."""
        if not self.balanced:
            raise AssertionError(f"{self.stage}: counts do not balance: {self.to_dict()}")
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def read(cls, directory: str | os.PathLike[str]) -> StageStats:
        data = json.loads((Path(directory) / "_stats.json").read_text())
        skipped = data.get("skipped", {})
        return cls(
            stage=data["stage"],
            docs_in=data["docs_in"],
            docs_out=data["docs_out"],
            dropped=Counter(data["dropped"]),
            bytes_in=data.get("bytes_in", 0),
            bytes_out=data.get("bytes_out", 0),
            seconds=data.get("seconds", 0.0),
            counters=Counter(data.get("counters", {})),
            files_in=data.get("files_in", 0),
            skipped=Counter(skipped.get("by_reason", {})),
            skipped_bytes=skipped.get("bytes", 0),
            skipped_spans=list(skipped.get("first", [])),
        )


@dataclass
class Reject:
    reason: str
    detail: str
    input: str
    sample: bytes = b""


@dataclass
class Skipped:
    """A skipped span of an input: `length` bytes at `offset`, in the file as stored (`space` "file") or in
    its decompressed stream ("stream")."""

    reason: str
    detail: str
    input: str
    offset: int
    length: int
    space: str = "file"
    sample: bytes = b""

    def as_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "offset": self.offset,
            "length": self.length,
            "space": self.space,
            "reason": self.reason,
            "detail": self.detail,
        }


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def text_safe(value: str) -> str:
    """`value` with lone surrogates (from file names, or messages quoting bad input) as U+FFFD, so that Arrow
    and JSON can always take it."""
    return value if value.isascii() else LONE_SURROGATE.sub("\ufffd", value)


class RejectLog:
    """Collects what an in-process read could not use: rejected records (`items`, counted per reason by
    `counts`, and by `len`) and skipped byte spans (`skipped`), which are not records."""

    def __init__(self) -> None:
        self.items: list[Reject] = []
        self.skipped: list[Skipped] = []

    def add(self, reason: str, detail: str, input: str, sample: bytes | str = b"") -> None:
        if isinstance(sample, str):
            sample = sample.encode("utf-8", "replace")
        self.items.append(
            Reject(reason, text_safe(detail), text_safe(input), bytes(sample[:REJECT_SAMPLE_BYTES]))
        )

    def skip(
        self,
        reason: str,
        detail: str,
        input: str,
        offset: int,
        length: int,
        space: str = "file",
        sample: bytes = b"",
    ) -> None:
        self.skipped.append(
            Skipped(
                reason,
                text_safe(detail),
                text_safe(input),
                offset,
                length,
                space,
                sample[:REJECT_SAMPLE_BYTES],
            )
        )

    @property
    def counts(self) -> Counter[str]:
        return Counter(r.reason for r in self.items)

    @property
    def skipped_counts(self) -> Counter[str]:
        return Counter(s.reason for s in self.skipped)

    def __len__(self) -> int:
        return len(self.items)

    def drain(self) -> list[Reject]:
        """Return and forget the collected rejects (readers drain them into each output batch)."""
        items, self.items = self.items, []
        return items

    def drain_skipped(self) -> list[Skipped]:
        """Return and forget the collected skipped spans."""
        items, self.skipped = self.skipped, []
        return items


def rejects_table(rejects: list[Reject], skipped: list[Skipped] | None = None) -> pa.Table:
    """Rejects as a table with REJECT_FIELDS, followed by skipped spans as rows whose reason is
    SKIPPED_PREFIX + reason and whose detail is the span as a JSON object."""
    spans = skipped or []
    return pa.table(
        {
            "reject_reason": pa.array(
                [r.reason for r in rejects] + [SKIPPED_PREFIX + s.reason for s in spans], pa.string()
            ),
            "reject_detail": pa.array(
                [r.detail for r in rejects] + [json.dumps(s.as_dict(), sort_keys=True) for s in spans],
                pa.string(),
            ),
            "reject_input": pa.array([r.input for r in rejects] + [s.input for s in spans], pa.string()),
            "reject_sample": pa.array([r.sample for r in rejects] + [s.sample for s in spans], pa.binary()),
        },
        schema=pa.schema(REJECT_FIELDS),
    )
