"""What the tests' JVM class archive (tests/class_archive.py) saves a Spark JVM's start, and what it costs.

Writes the archive as a test session does (one JVM running a small local job with -XX:ArchiveClassesAtExit),
then starts a local Spark session and runs one job in a new process `--rounds` times each way, alternating:
without the archive (the control) and with it. Both with -XX:TieredStopAtLevel=1, as the JVMs the tests
start run. Prints wall seconds (median and range) and their ratio, and the archive's size and write time.

    python bench/jvm_class_archive.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.class_archive import WORKLOAD, ClassArchiveWriter, java_options  # noqa: E402

C1_ONLY = "-XX:TieredStopAtLevel=1"


def start_seconds(options: str) -> float:
    """Wall seconds of a new process that starts a local Spark session and runs one job."""
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "JDK_JAVA_OPTIONS": options}
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", WORKLOAD], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"jvm_class_archive: the Spark job failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - began


def summary(seconds: list[float]) -> str:
    return f"{statistics.median(seconds):6.2f} s  [{min(seconds):.2f}, {max(seconds):.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jvm-archive-") as tmp:
        began = time.perf_counter()
        writer = ClassArchiveWriter(Path(tmp))
        archive = writer.archive()
        written = time.perf_counter() - began
        if archive is None:
            sys.exit("jvm_class_archive: the JVM wrote no archive")
        size = archive.stat().st_size
        plain: list[float] = []
        mapped: list[float] = []
        for _ in range(args.rounds):
            plain.append(start_seconds(C1_ONLY))
            mapped.append(start_seconds(java_options(archive, C1_ONLY)))
    print(f"archive: {size / 2**20:.0f} MiB, written in {written:.1f} s (one JVM, a local job)")
    print(f"a local Spark session and one job in a new process, {args.rounds} rounds alternating:")
    print(f"  without the archive (control): {summary(plain)}")
    print(f"  with the archive:              {summary(mapped)}")
    print(f"  ratio of medians (without / with): {statistics.median(plain) / statistics.median(mapped):.2f}x")
    saved = statistics.median(plain) - statistics.median(mapped)
    print(f"  the archive pays for itself after {written / saved:.1f} JVM starts" if saved > 0 else "")
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
