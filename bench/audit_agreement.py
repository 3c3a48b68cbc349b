"""Where the audit's predictor agrees with the model it predicts, and where not.

The audit predicts a run's effective cutoff from its training rows alone: every version of every probe resource
is scored by the n-gram surprisal of its text in the mixture (dating/reference_ngrams.py), and the probe's own
curve (z-score per resource, trimmed mean per month, argmin) is applied to those scores. The probe does the same
with the trained model's NLL of each version (`probe/version_nll.parquet`). This script reads both for every
probed run of an experiment and asks, run by run:

- per resource: does the data's ranking of the resource's versions predict the model's? Spearman's rank
  correlation between the versions' n-gram surprisal and their model NLL, over the resource's distinct versions,
  averaged over resources (95% percentile bootstrap over resources). Positive = agreement.
- per month: do the two curves agree on the years? Pearson's correlation of the two month curves.
- the two argmins: the predicted and the measured cutoff, and the months between them.

No model is loaded; the scores are the audit's own (trainers.predict.mixture_ngram_scores), about 10 s a
run on one core at 1,500 probe resources.

    python bench/audit_agreement.py EXPERIMENT [--only KEY ...] [--boot 1000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from analysis.cutoff import CurveMethod  # noqa: E402
from analysis.intervals import bootstrap_rows, percentile_interval, spearman  # noqa: E402
from analysis.months import month_index  # noqa: E402
from jobs.experiment_runs import probed_since_mixture, read_runs  # noqa: E402
from trainers.predict import mixture_ngram_scores  # noqa: E402


def agreement(
    model: dict[str, dict[str, float]], data: dict[str, dict[str, float]], n_boot: int
) -> dict[str, float | str]:
    """The per-resource rank agreement (mean Spearman, bootstrap interval over resources), the month curves'
    correlation and both argmins, for one run's model NLLs and data scores ({resource: {month: value}})."""
    per_resource = []
    for resource, nll in model.items():
        scores = data.get(resource, {})
        # one point per distinct version: months in one version's span repeat the same pair
        pairs = sorted({(nll[m], scores[m]) for m in nll if m in scores})
        if len(pairs) > 2:
            rho = spearman([p[0] for p in pairs], [p[1] for p in pairs])
            if np.isfinite(rho):
                per_resource.append(rho)
    rhos = np.asarray(per_resource)
    low, high = percentile_interval(bootstrap_rows(lambda i: float(rhos[i].mean()), len(rhos), n_boot))
    months = sorted({m for per in model.values() for m in per} & {m for per in data.values() for m in per})
    curves = [_curve(values, months) for values in (model, data)]
    return {
        "resources": len(rhos),
        "rank_agreement": float(rhos.mean()),
        "rank_low": low,
        "rank_high": high,
        "curve_correlation": float(np.corrcoef(curves[0], curves[1])[0, 1]),
        "measured": months[int(np.argmin(curves[0]))],  # months is never empty: every run has versions
        "predicted": months[int(np.argmin(curves[1]))],
    }


def _curve(values: dict[str, dict[str, float]], months: list[str]) -> np.ndarray:
    """The probe's own curve over `months` (analysis.cutoff.CurveMethod: z-score per resource, trimmed mean
    per month)."""
    rows = [(r, m, per[m]) for r, per in values.items() for m in months if m in per]
    method = CurveMethod()
    _, _, matrix, _ = method.normalised_matrix(*zip(*rows, strict=True))
    return method.curve(matrix)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("experiment", type=Path, help="an experiment folder with runs.json (--mixtures-only)")
    parser.add_argument("--only", action="append", help="run keys (repeatable; default: every probed run)")
    parser.add_argument("--boot", type=int, default=1000, help="bootstrap resamples of the resources")
    args = parser.parse_args()
    runs = read_runs(args.experiment)
    if unknown := sorted(set(args.only or []) - set(runs)):
        parser.error(f"--only {unknown[0]!r}: no such run")
    keys = args.only or sorted(runs)
    print(
        "| run | resources | per-resource rank agreement [95%] | month curves' correlation | measured | "
        "predicted (this curve) | months apart |"
    )
    print("|---|---|---|---|---|---|---|")
    for key in keys:
        nll_file = Path(runs[key]["probe"]["output"]) / "version_nll.parquet"
        if not nll_file.exists() or not probed_since_mixture(nll_file.parent, runs[key]["train"]["mixture"]):
            continue  # not probed, or probed on a mixture since rebuilt
        model: dict[str, dict[str, float]] = {}
        for row in pq.read_table(nll_file, columns=["resource", "month", "nll"]).to_pylist():
            model.setdefault(row["resource"], {})[row["month"]] = row["nll"]
        data = mixture_ngram_scores(
            Path(runs[key]["train"]["mixture"]), Path(runs[key]["probe"]["probes"]) / "temporal.parquet"
        )
        a = agreement(model, data, args.boot)
        apart = month_index(str(a["predicted"])) - month_index(str(a["measured"]))
        print(
            f"| {key} | {a['resources']} | {a['rank_agreement']:+.3f} [{a['rank_low']:+.3f}, "
            f"{a['rank_high']:+.3f}] | {a['curve_correlation']:.2f} | {a['measured']} | "
            f"{a['predicted']} | {apart:+d} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
