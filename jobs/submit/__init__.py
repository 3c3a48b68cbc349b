"""Entry points for `spark-submit`: `spark-submit [...] jobs/submit/<job>_main.py ARGS` runs `chronomix <job>
ARGS` as the submitted application (the scripts are thin: all the work is `jobs.cli.main`).

The script files are named `<job>_main.py`, not `<job>.py`: Python puts a script's folder first on `sys.path`,
and a script called `dedup.py` would shadow the `dedup` package for the whole application.

Under spark-submit the master and every `--conf` given to spark-submit must win. `jobs.spark` applies its
defaults (`DEFAULT_CONF`) through the session builder, which would override a submitted value of the same key
(e.g. `spark-submit --conf spark.sql.shuffle.partitions=400` would silently run with 8), so `main` hands the
submitted values of those keys back to the command as `--conf` options, which take precedence over defaults.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

# Commands that start a Spark session and take `--conf`.
SPARK_COMMANDS = frozenset({"ingest", "date", "dedup", "langid", "mix", "experiment", "audit"})


def submitted_conf() -> dict[str, str]:
    """The `spark.*` settings spark-submit handed to this process ({} when not run by spark-submit)."""
    if not os.environ.get("PYSPARK_GATEWAY_PORT"):
        return {}
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # connect to spark-submit's JVM, which holds the submitted conf
    return dict(SparkConf(loadDefaults=True).getAll())


def conf_overrides(command: str, submitted: dict[str, str]) -> list[str]:
    """`--conf k=v` options restoring submitted values of the keys chronomix would otherwise default."""
    if command not in SPARK_COMMANDS:
        return []
    from jobs.spark import DEFAULT_CONF

    args: list[str] = []
    for key in sorted(DEFAULT_CONF):
        if key in submitted:
            args += ["--conf", f"{key}={submitted[key]}"]
    return args


def main(command: str | None = None, argv: Sequence[str] | None = None) -> None:
    """Run `chronomix [command] ARGS` (ARGS from the command line by default) as a submitted application.

    Submitted settings go before the user's own `--conf` options so that an explicit job option still wins."""
    from jobs.cli import main as cli_main

    args = list(sys.argv[1:] if argv is None else argv)
    if command is None:
        if not args:
            cli_main(["--help"])
            return
        command, args = args[0], args[1:]
    cli_main([command, *conf_overrides(command, submitted_conf()), *args])
