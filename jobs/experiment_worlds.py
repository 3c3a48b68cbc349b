"""The data stages of an experiment grid's worlds (jobs/experiment.py): each world and seed generated,
ingested, dated, deduplicated (keep all) and labelled by page type, and the settings the grid summary's
dose-response groups its worlds by."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jobs.contract import Stage, UsageError
from jobs.registry import stage
from jobs.runner import StageSpec
from world import WorldConfigError, preset_config


def spec_of(name: str, kind: Stage, params: Any, needs: list[str] | None = None) -> StageSpec:
    """The runner's spec of one stage of the grid (stages are rerun over a partial output: overwrite)."""
    return StageSpec(name, kind, dataclasses.replace(params, overwrite=True), needs or [])


# A world's truth labels every page; stratified mixtures hold its page types at fixed shares.
# The world's document kinds as page types; `filler` keeps its name. A soft-404 (a site's "not found" text at
# a resource's URL) holds no resource version, so it is boilerplate, as filler is.
PAGE_TYPES = {
    "fresh": "resource",
    "recrawl": "resource",
    "stale": "resource",
    "mention": "news",
    "soft404": "filler",
}


def world_overrides(world_preset: str, settings: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The preset and WorldConfig overrides of a grid's world entry: its `preset` (else the grid's
    `world_preset`) and its other fields but `mixtures` (which of the grid's mixtures run on it)."""
    overrides = {k: v for k, v in settings.items() if k not in ("mixtures", "preset")}
    return str(settings.get("preset", world_preset)), overrides


def world_stages(
    output: str, world_preset: str, settings: Mapping[str, Any], name: str, seed: int
) -> tuple[list[StageSpec], str, str]:
    """world -> ingest -> date -> dedup (keep all) -> label (`page_type` from the world's truth: resource,
    news or filler) for one world and seed; returns the stages, the deduplicated documents and the world
    folder (the labelled documents are beside them, in `labelled/`). `settings`: the grid's entry for the
    world (WorldConfig overrides of `world_preset`, and the mixtures it runs)."""
    root = Path(output) / "worlds" / f"{name}-w{seed}"
    world, ingest, date, dedup = (stage(k) for k in ("world", "ingest", "date", "dedup"))
    key = f"{name}-w{seed}"
    preset, overrides = world_overrides(world_preset, settings)
    world_params = world.params(str(root / "world"), preset=preset, seed=seed, overrides=overrides)
    ingest_params = ingest.params(
        [str(root / "world" / "dumps")], str(root / "ingest"), added="2024-01-01T00:00:00Z"
    )
    date_params = date.params(
        [str(root / "ingest")],
        str(root / "dated"),
        reference=str(root / "world" / "probes" / "reference.parquet"),
    )
    dedup_params = dedup.params([str(root / "dated")], str(root / "dedup"), keep="all")
    specs = [
        spec_of(f"world {key}", world, world_params),
        spec_of(f"ingest {key}", ingest, ingest_params, needs=[f"world {key}"]),
        spec_of(f"date {key}", date, date_params, needs=[f"ingest {key}", f"world {key}"]),
        spec_of(f"dedup {key}", dedup, dedup_params, needs=[f"date {key}"]),
    ]
    label = stage("label")
    label_params = label.params(
        [str(root / "dedup")],
        str(root / "labelled"),
        table=str(root / "world" / "truth" / "documents.parquet"),
        column="kind",
        name="page_type",
        values=PAGE_TYPES,
    )
    specs.append(spec_of(f"label {key}", label, label_params, needs=[f"dedup {key}", f"world {key}"]))
    return specs, str(root / "dedup"), str(root / "world")


def world_dose(world_preset: str, settings: Mapping[str, Any], name: str, seed: int) -> dict[str, Any]:
    """The world's `stale_share` as generated (its override, else its preset's) and `world_settings`, the
    rest of its settings as one string: worlds with equal settings differ only in their stale share
    (trainers/dose_response.py). UsageError naming a bad field."""
    preset, overrides = world_overrides(world_preset, settings)
    try:
        share = preset_config(preset, seed=seed, **overrides).stale_share
    except (WorldConfigError, TypeError) as error:
        raise UsageError(f"grid field 'worlds', world {name!r}: {error}") from None
    others = {"preset": preset, **{k: v for k, v in overrides.items() if k != "stale_share"}}
    return {"stale_share": share, "world_settings": json.dumps(others, sort_keys=True, default=str)}
