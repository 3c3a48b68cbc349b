"""The summary of an experiment grid: what its runs say together, with their spread.

- **Cells.** Runs of one world and mixture are a cell; each cell reports its replicates' effective-cutoff gaps
  (mean with a 95% t-interval over replicates, and every run's own bootstrap interval), the share of resources
  whose best version is the newest (mean, t-interval), and the long-tail checks (in how many runs the
  0-exposure bucket is within its 95% interval of chance, and how likely that many misses are by chance
  alone; the unseen facts of all its runs pooled against chance; the mean rank correlation of accuracy with
  exposure bucket).
- **Contrasts.** Differences of gaps between paired runs (same world seed, mixture seed and initialisation
  seed), with a 95% t-interval over the pairs: every mixture against the grid's first mixture within a world,
  every world against the first world that has the mixture, and the difference between two mixtures in
  every world against that difference in the first world (does dedup's effect grow with the stale share?).
  Worlds of one seed differ in what their config changes alone (world/dumps.py draws mirrors on a stream of
  their own), so these are paired designs.
- **Dose response.** Where worlds differ only in their stale-mirror share, the slope of each replicate's gap
  (and newest-version share) over the shares, per 10 points, with a t-interval over replicates
  (trainers/dose_response.py).
- **Audit validation.** Over every run with a measured and a predicted cutoff: the mean absolute error in
  months, the rank correlation, the share of measured cutoffs inside the predicted interval, and the median
  width of the measured cutoffs' own intervals (how finely the measurement resolves a cutoff at all), and
  the measurement's noise: the mean absolute error expected of a perfect prediction, since each measured
  cutoff is itself an estimate from a sample of resources (`measurement_noise_months`), beside the audit's
  error over the same runs. The error carries a 95% percentile bootstrap over runs, the inside share a Wilson
  interval; the same figures per mixture show where the audit errs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analysis.intervals import Z95, bootstrap_rows, percentile_interval, spearman, wilson_interval
from analysis.months import month_index, months_between
from analysis.t_interval import mean_interval
from corpus.jsonl import finite_json
from trainers.dose_response import dose_response, dose_response_lines


def _cell_key(row: Mapping[str, Any]) -> tuple[str, str]:
    return (str(row.get("world") or "-"), str(row["mixture"]))


def _pair_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (row.get("world_seed"), row.get("mixture_seed"), row.get("init_seed"))


def summarise_cells(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One summary per (world, mixture), in the order the cells first appear."""
    cells: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        cells.setdefault(_cell_key(row), []).append(row)
    out = []
    for (world, mixture), members in cells.items():
        zero = [r["zero_exposure_at_chance"] for r in members if r.get("zero_exposure_at_chance") is not None]
        out.append(
            {
                "world": world,
                "mixture": mixture,
                "runs": len(members),
                "gap_months": mean_interval([r.get("gap_months") for r in members]),
                "gaps": [r.get("gap_months") for r in members],
                "gap_intervals": [r.get("gap_interval") for r in members],
                "newest_version_share": mean_interval(
                    [r.get("newest_version_share") for r in members], bounds=(0.0, 1.0)
                ),
                "accuracy": mean_interval([r.get("accuracy") for r in members], bounds=(0.0, 1.0)),
                "zero_exposure_at_chance": f"{sum(zero)}/{len(zero)}" if zero else None,
                "zero_exposure_pooled": pooled_zero_exposure(members),
                "bucket_rank_correlation": mean_interval(
                    [r.get("bucket_rank_correlation") for r in members], bounds=(-1.0, 1.0)
                ),
            }
        )
    return out


# A run's 0-exposure check is a 95% interval: where the model answers unseen facts at chance, it still
# misses chance in about one run of 20.
INTERVAL_MISS_RATE = 0.05


def pooled_zero_exposure(members: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The 0-exposure check over a cell's runs (None where no run has a 0-exposure bucket):
    - `misses` of `runs`: the runs whose bucket's interval leaves out chance, and `p_misses`, the probability
      of at least that many if every run answered its unseen facts at chance (each then misses with
      INTERVAL_MISS_RATE, independently: replicates are other seeds);
    - the unseen facts of all runs pooled: `probes`, `accuracy` with its Wilson 95% interval, `chance`
      (the runs' chances weighted by their probes) and `z`, the excess over chance in standard errors. The
      variance is the binomial one at the pooled chance, which bounds that of probes with unequal chances
      from above, so z errs small. A leak too small for one run's interval to show adds up here."""
    zero = [r["zero_exposure"] for r in members if r.get("zero_exposure")]
    if not zero:
        return None
    from scipy import stats  # here, not at import, as in mean_interval

    flags = [
        bool(r["zero_exposure_at_chance"]) for r in members if r.get("zero_exposure_at_chance") is not None
    ]
    misses = flags.count(False)
    probes = sum(int(z["probes"]) for z in zero)
    hits = round(sum(float(z["accuracy"]) * int(z["probes"]) for z in zero))
    chance = sum(float(z["chance"]) * int(z["probes"]) for z in zero) / probes
    low, high = wilson_interval(hits, probes) or (math.nan, math.nan)
    spread = math.sqrt(chance * (1 - chance) / probes)
    return {
        "runs": len(flags),
        "misses": misses,
        "p_misses": float(stats.binom.sf(misses - 1, len(flags), INTERVAL_MISS_RATE)),  # P(X >= misses)
        "probes": probes,
        "accuracy": hits / probes,
        "interval": [low, high],
        "chance": chance,
        "z": (hits / probes - chance) / spread if spread > 0 else math.nan,
    }


def paired_contrasts(rows: Sequence[Mapping[str, Any]], field: str = "gap_months") -> list[dict[str, Any]]:
    """Differences of `field` between paired runs (the module doc): within each world, every mixture minus
    the first mixture; for each mixture, every world minus the first world that has it; and for each
    mixture against the first, how the difference between them moves from that first world to every other
    (a difference of differences, its mixture named "m - first")."""
    mixtures = list(dict.fromkeys(str(r["mixture"]) for r in rows))
    worlds = list(dict.fromkeys(str(r.get("world") or "-") for r in rows))
    by_cell: dict[tuple[str, str], dict[tuple[Any, ...], Any]] = {}
    for row in rows:
        if row.get(field) is not None:
            by_cell.setdefault(_cell_key(row), {})[_pair_key(row)] = row[field]
    for m in mixtures[1:]:  # the difference of each mixture from the first, as a cell of its own
        for w in worlds:
            left, right = by_cell.get((w, m), {}), by_cell.get((w, mixtures[0]), {})
            if shared := {k: left[k] - right[k] for k in left if k in right}:
                by_cell[(w, f"{m} - {mixtures[0]}")] = shared
    out = []
    pairs = [((w, m), (w, mixtures[0])) for w in worlds for m in mixtures[1:]]
    for m in [*mixtures, *(f"{m} - {mixtures[0]}" for m in mixtures[1:])]:
        having = [w for w in worlds if (w, m) in by_cell]
        pairs += [((w, m), (having[0], m)) for w in having[1:]]
    for a, b in pairs:
        left, right = by_cell.get(a, {}), by_cell.get(b, {})
        shared = [k for k in left if k in right]
        if not shared:
            continue
        out.append(
            {
                "a": {"world": a[0], "mixture": a[1]},
                "b": {"world": b[0], "mixture": b[1]},
                "field": field,
                "difference": mean_interval([left[k] - right[k] for k in shared]),
            }
        )
    return out


BOOTSTRAP_RUNS = 2000  # resamples of the runs for the audit error's interval (seeded: reproducible)


def audit_validation(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Predicted against measured effective cutoffs over the runs that have both (the module doc)."""
    both = [r for r in rows if r.get("predicted_cutoff") and r.get("effective_cutoff")]
    if not both:
        return {"runs": 0}
    errors = [months_between(r["effective_cutoff"], r["predicted_cutoff"]) for r in both]
    inside = [
        r["predicted_low"] <= r["effective_cutoff"] <= r["predicted_high"]
        for r in both
        if r.get("predicted_low") and r.get("predicted_high")
    ]
    widths = [
        months_between(r["cutoff_low"], r["cutoff_high"])
        for r in both
        if r.get("cutoff_low") and r.get("cutoff_high")
    ]
    noise = [(measurement_noise_months(r), abs(e)) for r, e in zip(both, errors, strict=True)]
    noisy = [(n, e) for n, e in noise if n is not None]
    from_bootstrap = [r for r in both if _finite(r.get("cutoff_abs_deviation_months"))]
    absolute = np.abs(errors)
    resampled = bootstrap_rows(lambda index: float(absolute[index].mean()), len(absolute), BOOTSTRAP_RUNS)
    return {
        "runs": len(both),
        "mean_absolute_error_months": float(absolute.mean()),
        "mean_absolute_error_interval": list(percentile_interval(resampled)),
        "mean_error_months": float(np.mean(errors)),  # predicted minus measured
        "rank_correlation": spearman(
            [month_index(r["predicted_cutoff"]) for r in both],
            [month_index(r["effective_cutoff"]) for r in both],
        ),
        "inside_predicted_interval": float(np.mean(inside)) if inside else None,
        "inside_interval": list(wilson_interval(sum(inside), len(inside)) or ()) if inside else None,
        # how finely the measurement itself resolves a cutoff: the median width of the runs' own intervals
        "measured_interval_median_months": float(np.median(widths)) if widths else None,
        # the mean absolute error expected of a perfect prediction (measurement_noise_months), and the
        # audit's own error over the same runs, to set beside it
        "measurement_noise_months": float(np.mean([n for n, _ in noisy])) if noisy else None,
        "measurement_noise_runs": len(noisy),
        "measurement_noise_from_bootstrap": len(from_bootstrap),
        "mean_absolute_error_same_runs_months": float(np.mean([e for _, e in noisy])) if noisy else None,
        # on the runs that have both, the normal approximation beside the bootstrap's own figure: how far off
        # the approximation used for the other runs is
        "measurement_noise_bootstrap_months": _mean_or_none(
            [float(r["cutoff_abs_deviation_months"]) for r in from_bootstrap]
        ),
        "measurement_noise_approximated_months": _mean_or_none(
            [n for r in from_bootstrap if (n := _noise_from_interval(r)) is not None]
        ),
    }


def measurement_noise_months(row: Mapping[str, Any]) -> float | None:
    """How far, on average, a run's measured cutoff is expected to fall from the cutoff the same model would
    show on an unlimited set of such resources, in months: the probe's bootstrap estimate (the mean absolute
    deviation of its resampled cutoffs, `cutoff_abs_deviation_months`), else a crude one from the 95%
    interval, taken as a normal's (sigma = width / 3.92, E|error| = sigma * sqrt(2 / pi)), which can be off
    several-fold where the resampled argmin is lumpy. It counts resource sampling only: training-seed
    variance adds to it, and an audit scored on the same resources can fall below it. None without either."""
    if _finite(row.get("cutoff_abs_deviation_months")):
        return float(row["cutoff_abs_deviation_months"])
    return _noise_from_interval(row)


def _noise_from_interval(row: Mapping[str, Any]) -> float | None:
    if not (row.get("cutoff_low") and row.get("cutoff_high")):
        return None
    sigma = months_between(row["cutoff_low"], row["cutoff_high"]) / (2 * Z95)
    return sigma * math.sqrt(2 / math.pi)


def _finite(value: Any) -> bool:
    return value is not None and math.isfinite(float(value))


def _mean_or_none(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


def summarise_grid(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The cells, the paired contrasts of the gap and of the newest-version share, their dose-response
    slopes over stale-mirror shares, and the audit's validation."""
    return {
        # runs kept from other chronomix code: their figures may follow other definitions than the rest's
        "runs_of_other_code": sorted(str(r["run"]) for r in rows if r.get("other_code")),
        "cells": summarise_cells(rows),
        "contrasts": paired_contrasts(rows, "gap_months") + paired_contrasts(rows, "newest_version_share"),
        "dose_response": dose_response(rows, "gap_months") + dose_response(rows, "newest_version_share"),
        "audit_validation": audit_validation(rows),
        "audit_by_mixture": [  # per mixture, its worlds pooled
            {"mixture": m, **audit_validation([r for r in rows if str(r["mixture"]) == m])}
            for m in dict.fromkeys(str(r["mixture"]) for r in rows)
        ],
    }


def _number(value: Any) -> str:
    """Two decimals, or "-" for a figure that is not defined (NaN, None: a correlation of fewer than three)."""
    return "-" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.2f}"


def write_summary(summary: Mapping[str, Any], output_dir: str | Path) -> tuple[Path, Path]:
    """`summary.json` and a readable `summary.md` in `output_dir`."""
    output = Path(output_dir)
    json_path = output / "summary.json"
    json_path.write_text(json.dumps(finite_json(summary), indent=2, default=str) + "\n")
    lines = ["# Experiment summary", ""]
    if other := summary.get("runs_of_other_code"):
        lines += [
            f"**{len(other)} of the runs below were trained or probed by other chronomix code** and kept as "
            f"finished ({', '.join(other)}): a figure whose definition changed since mixes two definitions "
            "here. Their run folders removed, the same `chronomix experiment` makes them again with this code.",
            "",
        ]
    lines += [
        "## Cells (mean over replicates, 95% t-interval)",
        "",
        "| world | mixture | runs | gap (months) | gaps | newest-version share | accuracy | 0-exposure at chance "
        "| bucket rank corr. |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for cell in summary["cells"]:
        lines.append(
            f"| {cell['world']} | {cell['mixture']} | {cell['runs']} | {_show(cell['gap_months'], 1)} | "
            f"{', '.join('-' if g is None else str(g) for g in cell['gaps'])} | "
            f"{_show(cell['newest_version_share'], 2)} | {_show(cell['accuracy'], 3)} | "
            f"{cell['zero_exposure_at_chance'] or '-'} | {_show(cell['bucket_rank_correlation'], 2)} |"
        )
    lines += _zero_exposure_section(summary["cells"])
    lines += ["", "## Paired contrasts (a minus b, 95% t-interval over pairs)", ""]
    lines += ["| field | a | b | difference | pairs |", "|---|---|---|---|---|"]
    for c in summary["contrasts"]:
        lines.append(
            f"| {c['field']} | {c['a']['world']} / {c['a']['mixture']} | {c['b']['world']} / "
            f"{c['b']['mixture']} | {_show(c['difference'], 2)} | {c['difference']['n']} |"
        )
    lines += dose_response_lines(summary.get("dose_response", []))
    v = summary["audit_validation"]
    lines += ["", "## Audit validation (predicted against measured cutoff)", ""]
    if v.get("runs"):
        low, high = v["mean_absolute_error_interval"]
        lines.append(
            f"{v['runs']} runs: mean absolute error {v['mean_absolute_error_months']:.1f} months [{low:.1f}, "
            f"{high:.1f}] (mean error {v['mean_error_months']:+.1f}), rank correlation "
            f"{_number(v['rank_correlation'])}, measured inside the predicted interval in "
            f"{_share(v)} of runs. The measured cutoffs' own 95% intervals have a median width of "
            f"{_months(v.get('measured_interval_median_months'))} months."
        )
        if v.get("measurement_noise_months") is not None:
            lines += ["", _noise_sentence(v)]
        lines += ["", *_by_mixture(summary.get("audit_by_mixture", []))]
    else:
        lines.append("no run has both a measured and a predicted cutoff")
    md_path = output / "summary.md"
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path


def _zero_exposure_section(cells: Sequence[Mapping[str, Any]]) -> list[str]:
    """The facts no training document states, per cell over its runs (pooled_zero_exposure), as a table."""
    pooled = [(cell, cell.get("zero_exposure_pooled")) for cell in cells]
    pooled = [(cell, z) for cell, z in pooled if z]
    if not pooled:
        return []
    lines = [
        "",
        "## Facts never seen in training (0-exposure probes, runs pooled)",
        "",
        "A run's 95% interval misses chance in about one run of 20 even where the model answers at chance; "
        "P(as many by chance) is the probability of at least that many misses then. Pooling the runs' unseen "
        "facts shows an excess too small for one run to show.",
        "",
        "| world | mixture | runs missing chance | P(as many by chance) | unseen facts | accuracy [95%] "
        "| chance | z |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cell, z in pooled:
        low, high = z["interval"]
        lines.append(
            f"| {cell['world']} | {cell['mixture']} | {z['misses']}/{z['runs']} | {z['p_misses']:.2f} | "
            f"{z['probes']:,} | {z['accuracy']:.3f} [{low:.3f}, {high:.3f}] | {z['chance']:.3f} | "
            f"{round(z['z'], 1) + 0.0:+.1f} |"  # + 0.0: no "-0.0" for a z that rounds to zero
        )
    return lines


def _by_mixture(groups: Sequence[Mapping[str, Any]]) -> list[str]:
    """The audit validation per mixture, as a table."""
    lines = [
        "| mixture | runs | mean abs. error (months) [95%] | mean error | inside predicted [95%] | "
        "measured interval, median width | measurement noise |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in groups:
        if not g.get("runs"):
            continue
        low, high = g["mean_absolute_error_interval"]
        noise = g.get("measurement_noise_months")
        lines.append(
            f"| {g['mixture']} | {g['runs']} | {g['mean_absolute_error_months']:.1f} [{low:.1f}, {high:.1f}] | "
            f"{g['mean_error_months']:+.1f} | {_share(g)} | {_months(g.get('measured_interval_median_months'))} | "
            f"{'-' if noise is None else f'{noise:.1f}'} |"
        )
    return lines


def _share(v: Mapping[str, Any]) -> str:
    """The share of measured cutoffs inside the predicted interval, with its Wilson interval."""
    if v.get("inside_interval"):
        low, high = v["inside_interval"]
        return f"{_pct(v['inside_predicted_interval'])} [{low:.0%}, {high:.0%}]"
    return _pct(v.get("inside_predicted_interval"))


def _noise_sentence(v: Mapping[str, Any]) -> str:
    """The measurement-noise paragraph of summary.md."""
    runs, bootstrap = v["measurement_noise_runs"], v["measurement_noise_from_bootstrap"]
    source = (
        "all from the probe's bootstrap"
        if bootstrap == runs
        else f"{bootstrap} from the probe's bootstrap, {runs - bootstrap} approximated from the 95% interval "
        "as if it were a normal's"
    )
    sentence = (
        f"Measurement noise: even a perfect prediction would differ from these measured cutoffs by about "
        f"{v['measurement_noise_months']:.1f} months on average, because each measured cutoff is estimated from "
        f"a sample of resources ({runs} of {v['runs']} runs; {source}). The audit's mean absolute error over the "
        f"same runs is {v['mean_absolute_error_same_runs_months']:.1f} months."
    )
    if v.get("measurement_noise_bootstrap_months") is not None and bootstrap < runs:
        sentence += (
            f" On the {bootstrap} runs with both, the bootstrap gives {v['measurement_noise_bootstrap_months']:.1f}"
            f" months and the approximation {v['measurement_noise_approximated_months']:.1f}."
        )
    return sentence


def _show(stat: Mapping[str, Any], digits: int) -> str:
    if stat.get("mean") is None:
        return "-"
    mean = f"{stat['mean']:.{digits}f}"
    if stat.get("low") is None:
        return mean
    return f"{mean} [{stat['low']:.{digits}f}, {stat['high']:.{digits}f}]"


def _months(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
