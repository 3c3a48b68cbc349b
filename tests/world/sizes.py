"""A world small enough for a test to generate in seconds: the tiny preset with fewer entities, dumps and
pages (overrides for world.preset_config)."""

from __future__ import annotations

SMALL_WORLD = {
    "entities": 30,
    "dumps": ("2017-06", "2019-06", "2021-06"),
    "mention_pages": 10,
    "filler_pages": 6,
    "probe_resources": 3,
    "reference_resources": 3,
    "people": 20,
    "cities": 10,
    "products": 10,
    "records_per_file": 40,
}
