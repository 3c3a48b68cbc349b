"""Language identification: per-language accuracy of fastText lid.176 alone and with lingua's second opinion,
on the two halves of each language's sentences (even lines chose the thresholds in mixers/langid.py; odd lines
are unseen), and documents/s inside Spark as a ratio to fastText alone, measured in the same process.

    python bench/langid_eval.py [--sentences DIR] [--spark-docs N] [--no-spark]

Reads ../shared/data/langid/sentences (or --sentences).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mixers.langid import LangIdConfig, identify, load_fasttext, predict_top_k  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "langid" / "sentences"


def lid176_languages(config: LangIdConfig) -> set[str]:
    """Codes lid.176 can output (asked for all its labels on one text)."""
    model = load_fasttext(config.resolved_model_path)
    codes = {code for code, _ in predict_top_k(model, ["a"], 1000)[0]}
    # lid.176 labels Norwegian `no`; the sentence files name Bokmål `nb`.
    return codes | ({"nb"} if "no" in codes else set())


def accuracy(data: dict[str, list[str]], config: LangIdConfig, half: int) -> dict[str, float]:
    out = {}
    for lang, lines in data.items():
        part = lines[half::2]
        decided = identify(part, config)
        out[lang] = sum(d.lang == lang for d in decided) / len(part)
    return out


def spark_throughput(data: dict[str, list[str]], n_docs: int) -> tuple[float, float]:
    """Documents/s of the langid kernel inside Spark (local[2]) without and with the second opinion."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from jobs.spark import SparkOptions, spark_session
    from jobs.stage import map_kernel
    from mixers.langid import LangIdKernel

    texts = [t for lines in data.values() for t in lines]
    texts = (texts * (n_docs // len(texts) + 1))[:n_docs]
    folder = Path(tempfile.mkdtemp(prefix="langid_bench_"))
    pq.write_table(
        pa.table({"id": [f"d{i}" for i in range(len(texts))], "text": texts}), folder / "p.parquet"
    )
    spark = spark_session(SparkOptions(master="local[2]", conf=("spark.sql.shuffle.partitions=4",)))
    df = spark.read.parquet(str(folder)).repartition(2).cache()
    df.count()
    rates = []
    for second in (False, True):
        kernel = LangIdKernel(LangIdConfig(second_opinion=second))
        map_kernel(df.limit(200), kernel, ["lang", "lang_score"]).count()  # load the models in the workers
        started = time.perf_counter()
        map_kernel(df, kernel, ["lang", "lang_score"]).write.format("noop").mode("overwrite").save()
        rates.append(len(texts) / (time.perf_counter() - started))
    spark.stop()
    return rates[0], rates[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=Path, default=SHARED)
    parser.add_argument("--spark-docs", type=int, default=7500)
    parser.add_argument("--no-spark", action="store_true")
    args = parser.parse_args()
    data = {p.stem: p.read_text().splitlines() for p in sorted(args.sentences.glob("*.txt"))}
    combined = LangIdConfig()
    alone = LangIdConfig(second_opinion=False)
    known = lid176_languages(alone)
    print(
        f"sentences: {args.sentences} ({len(data)} languages; lid.176 knows {sum(k in known for k in data)})"
    )
    results = {}
    for name, config in (("fastText", alone), ("combined", combined)):
        for half in (0, 1):
            started = time.perf_counter()
            results[(name, half)] = accuracy(data, config, half)
            seconds = time.perf_counter() - started
            n = sum(len(v[half::2]) for v in data.values())
            print(f"{name:9s} half {half}: {n / seconds:,.0f} sentences/s in-process")
    header = (
        f"{'lang':5s} {'lid176':>6s} | {'ft even':>7s} {'ft odd':>7s} | {'comb even':>9s} {'comb odd':>8s}"
    )
    print(header)
    print("-" * len(header))
    for lang in data:
        cells = [results[(n, h)][lang] for n in ("fastText", "combined") for h in (0, 1)]
        print(
            f"{lang:5s} {'yes' if lang in known else 'no':>6s} | {cells[0]:7.0%} {cells[1]:7.0%} | "
            f"{cells[2]:9.0%} {cells[3]:8.0%}"
        )
    for name in ("fastText", "combined"):
        for half, label in ((0, "even lines (chose thresholds)"), (1, "odd lines (unseen)")):
            accs = {k: v for k, v in results[(name, half)].items() if k in known}
            worst = sorted(accs.items(), key=lambda kv: kv[1])[:5]
            print(
                f"{name:9s} {label:30s}: mean {sum(accs.values()) / len(accs):.1%} over {len(accs)} lid.176 "
                f"languages; worst {', '.join(f'{k} {v:.0%}' for k, v in worst)}"
            )
    if not args.no_spark:
        alone_rate, combined_rate = spark_throughput(data, args.spark_docs)
        print(
            f"inside Spark local[2], {args.spark_docs} docs: fastText alone {alone_rate:,.0f} docs/s, "
            f"combined {combined_rate:,.0f} docs/s, ratio {combined_rate / alone_rate:.2f}x"
        )
    print(f"(load average {os.getloadavg()[0]:.1f}: figures taken on a shared machine)")


if __name__ == "__main__":
    main()
