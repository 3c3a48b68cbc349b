"""The synthetic temporal world: Common Crawl-like WARC dumps of versioned resource pages, stale mirrors,
news and filler pages, with the ground truth (which copy is stale, which facts each document states) and
probes (every month's version of some resources; fact prompts with distractors) for controlled experiments.

    from world import preset_config, generate_world
    summary = generate_world(preset_config("tiny", seed=0), "out/world")
"""

from world.config import (
    PRESETS,
    WorldConfig,
    WorldConfigError,
    load_config,
    preset_config,
    read_config_fields,
)
from world.generate import DumpSummary, WorldSummary, generate_world
from world.probes import count_fact_mentions, fill_probe_frequencies

__all__ = [
    "PRESETS",
    "DumpSummary",
    "WorldConfig",
    "WorldConfigError",
    "WorldSummary",
    "count_fact_mentions",
    "fill_probe_frequencies",
    "generate_world",
    "load_config",
    "preset_config",
    "read_config_fields",
]
