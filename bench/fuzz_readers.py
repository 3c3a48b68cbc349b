"""The longer run of the readers' fault-injection suite (tests/corpus/test_fuzz_damage.py runs it bounded).

Crafted WARC, WET, JSONL (plain, gzip, bz2, zstd) and MediaWiki (plain, gzip) files, each damaged by one to
three byte flips, overwrites, insertions, deletions or member splices and optionally cut short, then read with
`corpus.readers.read_documents`. For every example it checks what tests/damage.py defines: the records the
damage left intact are kept and unaltered, nothing is counted twice, and in a compressed file a loss is
reported by a reject or a skipped span. Nothing is shrunk; every example is new.

Prints, per file format: examples tried, intact records (summed over examples), intact records lost, intact
records kept altered, over-counts, silent losses and exceptions escaped (all of these should be 0), and, for
information, "unverified": records of a damaged member kept with altered text (a member's bytes decoded
before its error are handed on, and in a plain file nothing can tell), and "garbage_counted": examples of a
compressed file where a damaged member decoded garbage lines before its error, each counted as a reject.
Exit status 1 on any failure, with the first failing examples.

Run: python bench/fuzz_readers.py [--examples 5000] [--seed 18]
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from tests.corpus.test_fuzz_damage import cut, damage_ops, file_name  # noqa: E402
from tests.damage import check, samples  # noqa: E402

KEYS = (
    "examples",
    "intact",
    "lost",
    "altered",
    "over_counted",
    "silent",
    "exceptions",
    "unverified",
    "garbage_counted",
)


def run(examples: int, rng_seed: int) -> tuple[dict[str, Counter[str]], list[str]]:
    tally: dict[str, Counter[str]] = {}
    failures: list[str] = []

    @seed(rng_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(name=file_name, ops=damage_ops, cut=cut)
    def one(name: str, ops: list[tuple], cut: float | None) -> None:
        counts = tally.setdefault(name, Counter())
        counts["examples"] += 1
        try:
            outcome = check(samples()[name], ops, cut)
        except Exception:  # an exception escaped the reader: the one thing that must never happen
            counts["exceptions"] += 1
            failures.append(f"{name} ops={ops} cut={cut}: {traceback.format_exc(limit=3)}")
            return
        counts["intact"] += len(outcome.intact)
        counts["lost"] += len(outcome.lost)
        counts["altered"] += len(outcome.altered)
        counts["unverified"] += len(outcome.unverified)
        over = outcome.counted > outcome.limit
        counts["over_counted"] += over and not samples()[name].checksummed
        counts["garbage_counted"] += over and samples()[name].checksummed
        silent = outcome.kept != set(samples()[name].texts) and not outcome.silent_possible
        counts["silent"] += silent and not outcome.reported
        if (
            outcome.lost
            or outcome.altered
            or (over and not samples()[name].checksummed)
            or (silent and not outcome.reported)
        ):
            failures.append(
                f"{name} ops={ops} cut={cut}: lost={sorted(outcome.lost)} altered={sorted(outcome.altered)} "
                f"counted={outcome.counted}/{outcome.limit} reported={outcome.reported}"
            )

    one()
    return tally, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    started = time.perf_counter()
    tally, failures = run(args.examples, args.seed)
    seconds = time.perf_counter() - started
    total: Counter[str] = sum(tally.values(), Counter())
    print(f"fuzz_readers: {total['examples']} examples, seed {args.seed}, {seconds:.0f} s")
    print(f"{'file':<16}" + "".join(f"{k:>16}" for k in KEYS))
    for name in sorted(tally):
        print(f"{name:<16}" + "".join(f"{tally[name][k]:>16}" for k in KEYS))
    print(f"{'all':<16}" + "".join(f"{total[k]:>16}" for k in KEYS))
    for failure in failures[:10]:
        print("FAIL", failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
