"""Options shared by the Spark commands, and where their session runs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

import typer

from jobs.contract import UsageError
from jobs.spark import SparkOptions, parse_conf

Master = Annotated[
    str,
    typer.Option(
        help="Spark master: local[*] (embedded, the default), local[N], spark://HOST:7077, yarn, k8s://... "
        "Under spark-submit the submitted master wins.",
        envvar="CHRONOMIX_MASTER",
    ),
]
Conf = Annotated[
    list[str] | None,
    typer.Option(
        "--conf",
        help="Spark setting key=value; repeat for more (e.g. --conf spark.executor.memory=8g).",
        show_default=False,
    ),
]
DocumentInputs = Annotated[
    list[str],
    typer.Argument(help="Document Parquet (a stage output): files, folders or globs.", show_default=False),
]
Output = Annotated[str, typer.Option("--output", "-o", help="Output folder (local path or URI).")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output folder.")]
Columns = Annotated[
    list[str] | None,
    typer.Option(
        "--column",
        help="Read a record column from a field of another name, COLUMN=FIELD (repeatable), e.g. "
        "text=content or id=doc_id: JSON lines and Parquet.",
        show_default=False,
    ),
]


def parse_columns(pairs: list[str] | None) -> dict[str, str]:
    """`--column COLUMN=FIELD` pairs as a column map (record column -> input field); UsageError naming a
    malformed pair (what the reader refuses, an unknown column, it says at the check)."""
    mapping: dict[str, str] = {}
    for pair in pairs or []:
        column, sep, name = pair.partition("=")
        if not sep or not column.strip() or not name.strip():
            raise UsageError(
                f"--column {pair!r}: expected COLUMN=FIELD, e.g. text=content", option="--column"
            )
        mapping[column.strip()] = name.strip()
    return mapping


def checked_columns(column_map: dict[str, str]) -> dict[str, str]:
    """`column_map` as the readers take it (corpus.reader_base.ReadOptions); UsageError naming --column."""
    from corpus.reader_base import ReadOptions

    try:
        ReadOptions(column_map=column_map)
    except ValueError as error:
        raise UsageError(f"--column: {error}", option="--column") from None
    return column_map


def parse_added(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp (naive = UTC) for `added`; raises UsageError naming the option."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--added {value!r}: expected an ISO 8601 timestamp", option="--added") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# The master URLs Spark accepts (SparkContext's own patterns, plus the cluster managers' schemes).
_MASTER = re.compile(
    r"local(\[(\*|[1-9]\d*)(,\s*[1-9]\d*)?\])?|local-cluster\[\d+,\s*\d+,\s*\d+\]|yarn"
    r"|(spark|k8s|mesos)://\S+"
)


def spark_options(master: str = "local[*]", conf: list[str] | None = None) -> SparkOptions:
    """Where a command's Spark session runs; raises UsageError naming a bad --master or --conf."""
    if not _MASTER.fullmatch(master.strip()):
        raise UsageError(
            f"--master {master!r}: expected local[*], local[N], spark://HOST:PORT, yarn or k8s://...",
            option="--master",
        )
    try:
        parse_conf(conf or [])
    except ValueError as error:
        raise UsageError(str(error), option="--conf") from None
    return SparkOptions(master=master, conf=tuple(conf or ()))
