"""How busy the test suite keeps the machine's cores, test by test: what running tests side by side could gain.

As a pytest plugin it appends, for every test, its wall seconds and the machine's busy and available
core-seconds over it (from /proc/stat: all processes, so the JVMs, Spark's Python workers and servers the
test starts count, and so does anything else running) to $SUITE_CPU_LOG (default suite_cpu.jsonl):

    python -m pytest -q -p bench.suite_cpu     # or: PYTEST_ADDOPTS='-p bench.suite_cpu' make test
    python bench/suite_cpu.py suite_cpu.jsonl

Run alone, it prints the suite's share of the cores used, the tests that leave most core-seconds idle, and per
top-level test folder the wall time and use. A test that keeps one of two cores busy (pure Python) leaves
half idle; that half is what a second process could use.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

LOG = Path(os.environ.get("SUITE_CPU_LOG", "suite_cpu.jsonl"))
_started: dict[str, tuple[float, float, float]] = {}


def _core_seconds() -> tuple[float, float]:
    """(busy, available) core-seconds since boot, over all cores."""
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    per_second = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / per_second, sum(ticks) / per_second


def pytest_runtest_logstart(nodeid: str, location: object) -> None:
    _started[nodeid] = (time.monotonic(), *_core_seconds())


def pytest_runtest_logfinish(nodeid: str, location: object) -> None:
    wall, busy, available = _started.pop(nodeid)
    busy_now, available_now = _core_seconds()
    row = {
        "id": nodeid,
        "wall": time.monotonic() - wall,
        "busy": busy_now - busy,
        "available": available_now - available,
    }
    with LOG.open("a") as out:
        out.write(json.dumps(row) + "\n")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/suite_cpu.py SUITE_CPU_LOG")
    rows = [json.loads(line) for line in Path(sys.argv[1]).read_text().splitlines() if line.strip()]
    if not rows:
        sys.exit(f"suite_cpu: {sys.argv[1]} holds no tests")
    wall = sum(r["wall"] for r in rows)
    busy, available = sum(r["busy"] for r in rows), sum(r["available"] for r in rows)
    print(f"{len(rows)} tests, {wall:.0f} s of wall time; cores busy {busy / available:.0%} of it")
    by_folder: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_folder["/".join(row["id"].split("::")[0].split("/")[:2])].append(row)
    print(f"{'folder':<24}{'tests':>7}{'wall s':>9}{'busy':>7}{'idle core-s':>13}")
    for folder, group in sorted(by_folder.items(), key=lambda item: -sum(r["wall"] for r in item[1])):
        idle = sum(r["available"] - r["busy"] for r in group)
        use = sum(r["busy"] for r in group) / max(1e-9, sum(r["available"] for r in group))
        print(f"{folder:<24}{len(group):>7}{sum(r['wall'] for r in group):>9.0f}{use:>7.0%}{idle:>13.0f}")
    print("the 10 tests leaving most core-seconds idle:")
    for row in sorted(rows, key=lambda r: r["busy"] - r["available"])[:10]:
        use = row["busy"] / max(1e-9, row["available"])
        print(
            f"  {row['available'] - row['busy']:6.1f} idle of {row['wall']:6.1f} s ({use:.0%} busy)  {row['id']}"
        )


if __name__ == "__main__":
    main()
