"""Sizes and generation time of each world preset: documents, tokens (whitespace words) and stale share per
dump, and seconds to generate, with the ratio to reading the same WARC files back with fastwarc (measured in
the same process, as a floor for what the bytes cost).

    python bench/world_sizes.py                  # tiny and small
    python bench/world_sizes.py --presets large  # ~1M documents: minutes, several GB of disk
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from fastwarc.warc import ArchiveIterator, WarcRecordType

from world import generate_world, preset_config


def read_seconds(root: Path) -> tuple[float, int]:
    """Seconds to iterate every response record of the world's dumps with fastwarc, and the record count."""
    began = time.perf_counter()
    n = 0
    for path in sorted((root / "dumps").glob("*/*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream, record_types=WarcRecordType.response):
                record.reader.read()
                n += 1
    return time.perf_counter() - began, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["tiny", "small"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name in args.presets:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / name
            summary = generate_world(preset_config(name, seed=args.seed), root)
            seconds, records = read_seconds(root)
            size = sum(p.stat().st_size for p in (root / "dumps").rglob("*.warc.gz"))
            assert records == summary.documents
            print(f"\n== preset {name} (seed {args.seed}) ==")
            print(
                f"{'dump':<17}{'month':<9}{'docs':>8}{'tokens':>11}{'resource':>10}{'stale':>8}{'share':>8}"
            )
            for d in summary.dumps:
                print(
                    f"{d.dump:<17}{d.month:<9}{d.documents:>8}{d.tokens:>11}{d.resource_pages:>10}"
                    f"{d.stale_pages:>8}{d.stale_share:>8.3f}"
                )
            print(
                f"total: {summary.documents:,} documents, {summary.tokens:,} tokens, "
                f"{summary.facts:,} facts, {size / 1e6:.1f} MB of WARC.gz in {len(summary.dumps)} dumps"
            )
            print(
                f"generation {summary.seconds:.1f} s ({summary.documents / summary.seconds:,.0f} docs/s); "
                f"fastwarc read-back {seconds:.2f} s; "
                f"generation / read-back = {summary.seconds / seconds:.1f}x"
            )


if __name__ == "__main__":
    main()
