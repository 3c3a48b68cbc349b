"""The `chronomix` command line. Each command is a typed function whose docstring is its help (litgpt-style);
the functions live in the job modules and are registered here. Bad arguments end the command at once with a
one-line message on stderr and exit status 2; the full traceback of an unexpected failure is kept behind
`CHRONOMIX_DEBUG=1`."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from jobs.options import Conf, Master, Overwrite, parse_added

app = typer.Typer(
    name="chronomix",
    help="Date, deduplicate and balance Common Crawl-style corpora, and measure what the mixture does to "
    "a model's effective cutoff and long-tail accuracy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _chronomix() -> None:
    """Date, deduplicate and balance Common Crawl-style corpora; measure effective cutoff and the long tail."""


@app.command()
def ingest(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="WARC, WET, JSONL/Dolma, Parquet or MediaWiki XML files, folders or globs.",
            show_default=False,
        ),
    ],
    output: Annotated[str, typer.Option("--output", "-o", help="Output folder (local path or URI).")],
    fmt: Annotated[
        str, typer.Option("--format", help="parquet (the document record) or dolma (JSONL.gz).")
    ] = "parquet",
    keep_html: Annotated[
        bool, typer.Option("--keep-html", help="Keep the raw HTML in an `html` column.")
    ] = False,
    mediawiki_monthly: Annotated[
        bool,
        typer.Option(
            "--mediawiki-monthly",
            help="MediaWiki input: one snapshot per page and month (the "
            "page as of the first of the month) instead of every revision.",
        ),
    ] = False,
    batch_size: Annotated[
        int, typer.Option(help="Documents per Arrow batch; bounds a task's memory.", min=1)
    ] = 1000,
    max_doc_bytes: Annotated[
        int, typer.Option(help="Reject payloads larger than this (bytes).", min=1)
    ] = 10_000_000,
    added: Annotated[
        str | None, typer.Option(help="Pin the `added` timestamp (ISO 8601) for reproducible builds.")
    ] = None,
    master: Master = "local[*]",
    conf: Conf = None,
    overwrite: Overwrite = False,
) -> None:
    """Read raw dumps and datasets into the document record (Parquet shards or Dolma JSONL.gz).

    Bad records and bad files are counted per reason in _stats.json and sampled under _rejects/; they never
    stop the job."""
    from corpus.readers import ReadOptions
    from jobs.ingest import IngestConfig, run_ingest
    from jobs.options import session
    from jobs.report import print_stats
    from jobs.stage import expand_inputs, refuse_existing

    options = ReadOptions(
        batch_size=batch_size,
        keep_html=keep_html,
        max_doc_bytes=max_doc_bytes,
        added=parse_added(added) or datetime.now(UTC),
        mediawiki_monthly=mediawiki_monthly,
    )
    if fmt not in ("parquet", "dolma"):
        raise typer.BadParameter(f"--format {fmt!r}: expected parquet or dolma")
    files = expand_inputs(inputs)  # bad paths fail here, before Spark starts
    refuse_existing(output, overwrite)
    with session(master, conf) as spark:
        stats = run_ingest(spark, files, output, IngestConfig(read=options, fmt=fmt), overwrite=overwrite)
    print_stats(stats, output)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `chronomix` console script."""
    from jobs.stage import UsageError

    command = typer.main.get_command(app)
    if not (sys.argv[1:] if argv is None else argv):
        argv = ["--help"]  # a bare `chronomix` shows the help, not an error
    try:
        command.main(args=argv, prog_name="chronomix", standalone_mode=False)
    except typer.Exit as done:
        raise SystemExit(getattr(done, "exit_code", 0)) from None
    except typer.Abort:
        print("chronomix: aborted", file=sys.stderr)
        raise SystemExit(130) from None
    except typer.TyperException as error:  # typer's click: usage errors, bad parameters
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        print(f"chronomix: error: {_one_line(message)}", file=sys.stderr)
        raise SystemExit(2) from None
    except (UsageError, FileExistsError, FileNotFoundError) as error:
        print(f"chronomix: error: {_one_line(str(error))}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print("chronomix: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as error:
        if os.environ.get("CHRONOMIX_DEBUG"):
            raise
        print(
            f"chronomix: failed: {type(error).__name__}: {_one_line(str(error))} "
            "(set CHRONOMIX_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        raise SystemExit(1) from None


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _register() -> None:
    """Commands defined in their own job modules (each a typed function whose docstring is its help)."""
    import importlib

    from jobs.stage import UsageError

    for module_name, function_name in _COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name not in _OPTIONAL_MODULES:
                raise
            # The `train` extra is not installed: keep the command visible and say what it needs.
            missing = f"pip install 'chronomix[train]' ({error.name} is missing)"

            def unavailable(_missing: str = missing) -> None:
                raise UsageError(f"this command needs an optional dependency: {_missing}")

            app.command(name=function_name.replace("_", "-"), help=f"(unavailable: {missing})")(unavailable)
            continue
        app.command(name=function_name.replace("_", "-"))(getattr(module, function_name))


_OPTIONAL_MODULES = {"torch", "transformers", "tokenizers"}

# (module, function) of the commands that live in their job modules; the command is the function's name.
_COMMANDS: list[tuple[str, str]] = [
    ("jobs.date", "date"),
    ("jobs.dedup", "dedup"),
    ("jobs.langid", "langid"),
    ("jobs.mix", "mix"),
    ("jobs.world", "world"),
    ("jobs.train", "train"),
    ("jobs.probe", "probe"),
    ("jobs.experiment", "experiment"),
    ("jobs.audit", "audit"),
    ("jobs.run", "run"),
    ("jobs.package", "package"),
]

_register()

if __name__ == "__main__":
    main()
