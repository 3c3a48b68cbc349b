"""How busy the test suite keeps the machine's cores, test by test: what running tests side by side could gain.

As a pytest plugin it appends, for every test, its wall seconds and the machine's busy and available
core-seconds over it (from /proc/stat: all processes, so the JVMs, Spark's Python workers and servers the
test starts count, and so does anything else running) to $SUITE_CPU_LOG (default suite_cpu.jsonl):

    python -m pytest -q -p bench.suite_cpu     # or: PYTEST_ADDOPTS='-p bench.suite_cpu' make test
    python bench/suite_cpu.py suite_cpu.jsonl

Run alone, it prints the suite's share of the cores used, the tests that leave most core-seconds idle, and per
top-level test folder the wall time and use. A test that keeps one of two cores busy (pure Python) leaves
half idle; that half is what a second process could use.

At the end of the run it also appends what each JVM below the pytest process that is still running then
(the tests' Spark session's; those of clusters and CLI subprocesses have exited) spent its CPU on, by
thread: the JIT compilers, the garbage collector, the unnamed threads (py4j's, which analyse and plan each
query), the executor's task threads, and the threads that had already exited, such as idle task threads
(their CPU stays in the process's total). Spark compiles code for every query it plans, so on tiny
test inputs the JIT's share says how much of the JVM's time is spent compiling rather than running queries.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

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


# Thread names (as /proc shows them: 15 characters at most) -> what the thread does.
THREAD_ROLES = (
    (r"^C\d CompilerThre|^Sweeper thread", "JIT compilers"),
    (r"^G1 |^GC Thread|^VM Thread", "garbage collector"),
    (r"^Thread-\d+$", "unnamed (py4j: query planning)"),
    (r"^Executor task", "executor tasks"),
)


def thread_role(name: str) -> str:
    """What a JVM thread of this name does (THREAD_ROLES), else 'other'."""
    return next((role for pattern, role in THREAD_ROLES if re.search(pattern, name)), "other")


def _cpu_seconds(stat_line: str) -> float:
    """utime + stime of a /proc .../stat line, in seconds (fields 14 and 15; the name may hold spaces)."""
    fields = stat_line.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """The processes below `pid` (children, their children, ...), from /proc."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # exited while listed
    below, frontier = [], [pid]
    while frontier:
        frontier = [child for child, up in parent.items() if up in frontier]
        below += frontier
    return below


def jvm_thread_seconds(root: int) -> dict[str, float]:
    """CPU seconds of every JVM below `root`, by thread role; 'exited threads' is the processes' total less
    their live threads'."""
    roles: dict[str, float] = defaultdict(float)
    for pid in descendants(root):
        proc = Path(f"/proc/{pid}")
        try:
            if not (proc / "cmdline").read_bytes().split(b"\0")[0].endswith(b"java"):
                continue
            total = _cpu_seconds((proc / "stat").read_text())
            live = 0.0
            for task in (proc / "task").iterdir():
                line = (task / "stat").read_text()
                seconds = _cpu_seconds(line)
                roles[thread_role(line[line.index("(") + 1 : line.rindex(")")])] += seconds
                live += seconds
        except (OSError, ValueError):
            continue  # exited while read
        roles["exited threads"] += max(0.0, total - live)
    return dict(roles)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    roles = jvm_thread_seconds(os.getpid())
    if roles:
        with LOG.open("a") as out:
            out.write(json.dumps({"jvm_thread_seconds": roles}) + "\n")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/suite_cpu.py SUITE_CPU_LOG")
    rows = [json.loads(line) for line in Path(sys.argv[1]).read_text().splitlines() if line.strip()]
    jvm = [row.pop("jvm_thread_seconds") for row in rows if "jvm_thread_seconds" in row]
    rows = [row for row in rows if row]
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
    for roles in jvm:  # one line per pytest run in the log
        total = sum(roles.values())
        print(f"the JVMs' CPU by thread ({total:.0f} s, {total / busy:.0%} of the busy core-seconds):")
        for role, seconds in sorted(roles.items(), key=lambda item: -item[1]):
            print(f"  {role:<38}{seconds:8.0f} s {seconds / total:6.0%}")


if __name__ == "__main__":
    main()
