"""A mixture stays at or under its token budget (mixers.sampling.thresholds_with_carry): each language's
rounding to the nearest document put a weighted `redistribute: global` mixture of 3,000 tokens at 3,003."""

from __future__ import annotations

import json

import pyarrow.compute as pc

from jobs.mix import MANIFEST, run_mix
from mixers.spec import parse_spec
from tests.mixers.conftest import document_table, write_parts

LANGS = ["en", "de", "fr", "yo", "bs", "hr", "ms", "id", "so", "zh"]


def test_weighted_global_mixture_stays_at_or_under_its_budget(spark, data_dir, tmp_path):
    """Seeds 2, 3 and 5 of this spec gave 3,006, 3,008 and 3,003 tokens for a budget of 3,000."""
    table = document_table(data_dir, LANGS)
    source = write_parts(table, tmp_path / "in", 2)
    longest = max(pc.list_value_length(pc.utf8_split_whitespace(table.column("text"))).to_pylist())
    for seed in (2, 3, 5):
        spec = {
            "budget_tokens": "3K",
            "seed": seed,
            "max_repeats": 2,
            "redistribute": "global",
            "language": {"strategy": "weights", "weights": {"en": 0.4, "de": 0.3, "zh": 0.2, "yo": 0.1}},
            "time": {
                "strategy": "weights",
                "granularity": "year",
                "weights": {"2019": 0.5, "2021": 0.25, "2030": 0.25},
            },
        }
        run_mix(spark, [str(source)], parse_spec(spec), str(tmp_path / f"out{seed}"))
        manifest = json.loads((tmp_path / f"out{seed}" / MANIFEST).read_text())
        assert manifest["target_tokens"] == 3000
        assert 3000 - longest < manifest["achieved_tokens"] <= 3000, seed
        for lang in ("en", "de", "zh", "yo"):
            cells = [c for c in manifest["cells"] if c["lang"] == lang]
            error = sum(c["achieved_tokens"] - c["target_tokens"] for c in cells)
            assert abs(error) < longest, (seed, lang)
