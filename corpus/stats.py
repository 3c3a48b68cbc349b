"""Per-stage accounting: documents in, out and dropped per reason, and a sample of every rejected input.

Every stage writes `_stats.json` beside its output with `docs_in == docs_out + sum(dropped.values())`, and a
sample of rejected records under `_rejects/`. Kernels report a rejected record by returning it with a
`reject_reason` (see REJECT_FIELDS) instead of dropping it, so counting happens once, in the job, from the
data itself: this stays exact under Spark task retries, where accumulators would double count.
"""

from __future__ import annotations

import json
import os
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

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] += n

    def merge(self, other: StageStats) -> StageStats:
        """Add another run's counts (e.g. one file's) into this one; returns self."""
        self.docs_in += other.docs_in
        self.docs_out += other.docs_out
        self.dropped.update(other.dropped)
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.seconds += other.seconds
        self.counters.update(other.counters)
        self.files_in += other.files_in
        return self

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
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "seconds": round(self.seconds, 3),
        }

    def write(self, directory: str | os.PathLike[str]) -> Path:
        """Write `_stats.json` into `directory`; refuses unbalanced counts, which would mean a lost record."""
        if not self.balanced:
            raise AssertionError(
                f"{self.stage}: docs_in {self.docs_in} != docs_out {self.docs_out} + dropped "
                f"{sum(self.dropped.values())}"
            )
        path = Path(directory) / "_stats.json"
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, directory: str | os.PathLike[str]) -> StageStats:
        data = json.loads((Path(directory) / "_stats.json").read_text())
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
        )


@dataclass
class Reject:
    reason: str
    detail: str
    input: str
    sample: bytes = b""


class RejectLog:
    """Collects the rejects of an in-process read: a count per reason and the records themselves."""

    def __init__(self) -> None:
        self.items: list[Reject] = []

    def add(self, reason: str, detail: str, input: str, sample: bytes | str = b"") -> None:
        if isinstance(sample, str):
            sample = sample.encode("utf-8", "replace")
        self.items.append(Reject(reason, detail, input, bytes(sample[:REJECT_SAMPLE_BYTES])))

    @property
    def counts(self) -> Counter[str]:
        return Counter(r.reason for r in self.items)

    def __len__(self) -> int:
        return len(self.items)

    def drain(self) -> list[Reject]:
        """Return and forget the collected rejects (readers drain them into each output batch)."""
        items, self.items = self.items, []
        return items


def rejects_table(rejects: list[Reject]) -> pa.Table:
    """Rejects as a table with REJECT_FIELDS."""
    return pa.table(
        {
            "reject_reason": pa.array([r.reason for r in rejects], pa.string()),
            "reject_detail": pa.array([r.detail for r in rejects], pa.string()),
            "reject_input": pa.array([r.input for r in rejects], pa.string()),
            "reject_sample": pa.array([r.sample for r in rejects], pa.binary()),
        },
        schema=pa.schema(REJECT_FIELDS),
    )
