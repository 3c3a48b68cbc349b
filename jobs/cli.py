"""The `chronomix` command line. Each command is a typed function whose docstring is its help (litgpt-style);
the functions live in the job modules: one per stage kind of jobs/registry.py, named as the kind, which builds
the job's parameters dataclass and runs its stage (jobs/runner.run_command), plus `train-runs`, `run` and
`package`. A run imports only its command's module. Bad arguments end the command at once with a one-line
message on stderr and exit status 2; the full traceback of an unexpected failure is kept behind
`CHRONOMIX_DEBUG=1`."""

from __future__ import annotations

import importlib
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperCommand

from jobs import progress
from jobs.contract import UsageError
from jobs.registry import KINDS, OPTIONAL_MODULES

COMMANDS: dict[str, str] = {
    **KINDS,
    "train-runs": "jobs.experiment_runs",
    "run": "jobs.run",
    "package": "jobs.package",
}
HELP = (
    "Date, deduplicate and balance Common Crawl-style corpora, and measure what the mixture does to "
    "a model's effective cutoff and long-tail accuracy."
)


def build_app(commands: list[str] | None = None) -> typer.Typer:
    """The Typer app with `commands` (all when None): one per stage kind (the function named as the kind in
    its job module), then `train-runs`, `run` and `package`. Only the named commands' modules are imported,
    so that `chronomix ingest` does not pay for torch (~10 s of imports that `train` needs). A command whose
    module needs the missing `train` extra stays visible and says so."""
    app = typer.Typer(
        name="chronomix",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    @app.callback()
    def _chronomix() -> None:
        """The command group (no options of its own; its help is HELP)."""

    for name in COMMANDS if commands is None else commands:
        module_name = COMMANDS[name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name not in OPTIONAL_MODULES:
                raise
            missing = f"pip install 'chronomix[train]' ({error.name} is missing)"
            # Any arguments are accepted, so that the message is the install hint, not an unknown option.
            extra = {"ignore_unknown_options": True, "allow_extra_args": True}
            app.command(name=name, help=f"(unavailable: {missing})", context_settings=extra)(
                _unavailable(missing)
            )
            continue
        app.command(name=name)(getattr(module, name.replace("-", "_")))
    return app


def _unavailable(missing: str) -> Callable[[], None]:
    def unavailable() -> None:
        raise UsageError(f"this command needs an optional dependency: {missing}")

    return unavailable


def invoked_commands(argv: list[str]) -> list[str] | None:
    """The one command `argv` invokes, or None (all of them) for the top-level help or an unknown name."""
    if argv and argv[0] in COMMANDS:
        return [argv[0]]
    return None


class Terminated(KeyboardInterrupt):
    """SIGTERM (what `timeout`, Slurm and Kubernetes send), raised as an interrupt so that a job stops as it
    does on Ctrl-C: the output it was writing and its work folders are removed."""


_TERMINATED: list[int] = []  # the SIGTERMs received: typer's click reports any interrupt as exit status 130


def _terminate(signum: int, frame: object) -> None:
    _TERMINATED.append(signum)
    raise Terminated()


def raise_on_sigterm() -> None:
    """In a process with no SIGTERM handler (a spawned train-runs worker), SIGTERM raises Terminated as it
    does under main(): such a worker died at once where `chronomix train` saves its last step first (timeout
    and Slurm signal the whole process group)."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)


class _Py4JInterruptNoise(logging.Filter):
    """py4j logs a traceback for a command an interrupt cut short ("... while sending command.", on the root
    logger) and, where the JVM was stopped by the same signal, for each connection it then fails to shut down
    (on py4j.clientserver, an error whose cause is the interrupt); the interrupt itself is what the user sees,
    in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).endswith("while sending command."):
            return False
        error = record.exc_info[1] if record.exc_info else None
        seen: set[int] = set()
        while error is not None and id(error) not in seen:
            if isinstance(error, KeyboardInterrupt):
                return False
            seen.add(id(error))
            error = error.__cause__ or error.__context__
        return True


# A logger's filter sees only the records logged on it, not those its children pass up.
_NOISY_LOGGERS = ("", "py4j.clientserver", "py4j.java_gateway")


def _stopped() -> None:
    """The one line and exit status of a job stopped by Ctrl-C (130) or SIGTERM (143). It names the last
    output this command finished, which stays: a Ctrl-C just after the move into place said only
    "interrupted", and the user took the complete output for a partial one the next run refused to replace."""
    from jobs.fs import FINISHED

    kept = f" ({FINISHED[-1]} was finished before it, and is kept)" if FINISHED else ""
    if _TERMINATED:
        print(f"chronomix: terminated{kept}", file=sys.stderr)
        raise SystemExit(143) from None
    print(f"chronomix: interrupted{kept}", file=sys.stderr)
    raise SystemExit(130) from None


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `chronomix` console script. The SIGTERM handler and the log filter it sets are
    taken off again when it returns, so a program that calls it keeps its own."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["--help"]  # a bare `chronomix` shows the help, not an error
    _TERMINATED.clear()
    if "jobs.fs" in sys.modules:  # outputs finished by an earlier command of this process are not this one's
        sys.modules["jobs.fs"].FINISHED.clear()
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    noise = _Py4JInterruptNoise()
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).addFilter(noise)
    try:
        _run(argv)
    finally:
        for name in _NOISY_LOGGERS:
            logging.getLogger(name).removeFilter(noise)
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


# The options and positional arguments (by parameter name) that take a path or URI, in any command: a blank
# value is refused, as typer takes a Path's '' for "." (the current folder, which an output's --overwrite
# wiped) and an optional option's '' for "not given". OUTPUT_OPTIONS name the folder a command writes.
PATH_OPTIONS = frozenset(
    {"output", "report", "reference", "index", "lid_model", "work", "tokenizer", "config", "table", "spec"}
    | {"probes", "model", "world", "mixture", "run", "base"}
)
PATH_ARGUMENTS = frozenset({"inputs", "input", "mixture", "run", "grid", "experiment", "pipeline"})
OUTPUT_OPTIONS = frozenset({"output", "report"})
# The positional arguments that name one file, and what it is: a folder there was said to be "no such file".
FILE_ARGUMENTS = {"grid": "the grid's YAML file", "pipeline": "the pipeline's YAML file"}


def typed_values(command: TyperCommand, args: list[str]) -> list[tuple[Any, str, str]]:
    """(parameter, its name, value) of what `args` (the arguments after the command's name) give `command`,
    read as click reads them: an option's value (`--opt VALUE`, `--opt=VALUE`, `-oVALUE`; a flag takes
    none), named as typed; then each positional argument's (nothing after `--` is an option), named as
    the command's help names it, its inputs as `input`."""
    table = {name: p for p in command.params if p.param_type_name == "option" for name in p.opts}
    found, positional = [], []
    index, options_over = 0, False
    while index < len(args):
        arg = args[index]
        index += 1
        if options_over or arg == "-" or not arg.startswith("-"):
            positional.append(arg)
            continue
        if arg == "--":
            options_over = True
            continue
        name, equals, attached = arg.partition("=") if arg.startswith("--") else (arg[:2], "", arg[2:])
        param = table.get(name)
        if param is None or getattr(param, "is_flag", False):
            continue
        if equals or (attached and not arg.startswith("--")):
            found.append((param, name, attached))
        elif index < len(args):
            found.append((param, name, args[index]))
            index += 1
    for param in (p for p in command.params if p.param_type_name == "argument"):
        taken = len(positional) if param.nargs == -1 else 1
        name = "input" if param.name in ("input", "inputs") else param.name
        found += [(param, name, value) for value in positional[:taken]]
        positional = positional[taken:]
    return found


def refuse_bad_paths(command: TyperCommand, args: list[str]) -> None:
    """UsageError, before the command runs (and Spark starts), for a path given blank or as an object-store
    URI with no bucket, and for an output folder given as an existing file or where no folder can be made
    (jobs.fs.refuse_unmakeable); an option named as typed (a short one by its long name)."""
    from jobs.fs import file_given_as_folder, placeless, refuse_unmakeable

    options = args[: args.index("--")] if "--" in args else args
    overwrite = "--overwrite" in options and any(p.name == "overwrite" for p in command.params)
    for param, typed, value in typed_values(command, args):
        option = param.param_type_name == "option"
        if param.name not in (PATH_OPTIONS if option else PATH_ARGUMENTS):
            continue
        long = [o for o in param.opts[: param.opts.index(typed) + 1] if o.startswith("--")] if option else []
        flag = long[-1] if long else typed
        why = placeless(value)
        if why is not None:
            raise UsageError(f"{flag} {value!r}: {why}", option=flag if option else None)
        if not option and param.name in FILE_ARGUMENTS and os.path.isdir(value):
            raise UsageError(f"{flag} {value!r} is a folder; give {FILE_ARGUMENTS[param.name]}")
        if param.name in OUTPUT_OPTIONS and "://" not in value:
            if os.path.isfile(value):
                raise UsageError(file_given_as_folder(value, overwrite, flag), option=flag)
            refuse_unmakeable(value, flag)


def _run(argv: list[str]) -> None:
    command = typer.main.get_command(build_app(invoked_commands(argv)))
    try:
        subcommands = getattr(command, "commands", {})
        if argv[0] in subcommands and "--help" not in argv:
            refuse_bad_paths(subcommands[argv[0]], argv[1:])
        with progress.reporting():
            # Not standalone, click hands a command's `typer.Exit(code)` back as its return value.
            code = command.main(args=argv, prog_name="chronomix", standalone_mode=False)
        if code == 130:  # what click returns for an interrupt (KeyboardInterrupt, or SIGTERM raised as one)
            _stopped()
        if isinstance(code, int) and not isinstance(code, bool) and code:
            raise SystemExit(code)
    except typer.Exit as done:
        if isinstance(done.__cause__, KeyboardInterrupt):
            _stopped()
        raise SystemExit(getattr(done, "exit_code", 0)) from None
    except typer.Abort:
        print("chronomix: aborted", file=sys.stderr)
        raise SystemExit(130) from None
    except typer.TyperException as error:  # typer's click: usage errors, bad parameters
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        print(f"chronomix: error: {_one_line(message)}", file=sys.stderr)
        raise SystemExit(2) from None
    except (UsageError, FileExistsError, FileNotFoundError, PermissionError) as error:
        print(f"chronomix: error: {_one_line(str(error))}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        _stopped()
    except Exception as error:
        if _TERMINATED:
            # SIGTERM sent to the process group (timeout, Slurm) stops Spark's JVM too: what failed next (a
            # py4j call to the gone JVM) is the signal's doing, not the job's
            _stopped()
        if os.environ.get("CHRONOMIX_DEBUG"):
            raise
        print(
            f"chronomix: failed: {type(error).__name__}: {failure_line(str(error))} "
            "(set CHRONOMIX_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        raise SystemExit(1) from None


def _one_line(message: str) -> str:
    return " ".join(message.split())


# a hidden folder a run writes in beside its output (jobs.fs.working_sibling): named as the output it becomes
_WORKING_FOLDER = re.compile(r"/\.([^/]+?)\.(?:tmp|work|old|kept)-[^/\s]+?-\d+-[0-9a-f]{12}")
_JAVA_FRAME = re.compile(r"^\s*(at |\.\.\. \d+ more)")
NO_SPACE = "No space left on device"
MAX_FAILURE_CHARS = 600


PYTHON_TRACEBACK = "Traceback (most recent call last):"


def _python_error(message: str) -> str | None:
    """The exception line of the last Python traceback in `message` (the first line after its frames that
    is not indented), or None where it holds none."""
    if PYTHON_TRACEBACK not in message:
        return None
    after = message.rsplit(PYTHON_TRACEBACK, 1)[1].splitlines()
    return next((line.strip() for line in after if line.strip() and not line[0].isspace()), None)


def failure_line(message: str) -> str:
    """A failure's message on one line: for a Java error, its first line and its root cause without the
    stack (a full disk's ran to 13,000 characters), the output named for the folder it was written in."""
    java = "\n\tat " in message or "\nCaused by:" in message  # a Java stack: its frames go
    lines = [
        line.strip()
        for line in message.splitlines()
        if line.strip() and not (java and _JAVA_FRAME.match(line))
    ]
    head = next((line.lstrip(": ") for line in lines if not line.startswith("An error occurred")), lines[0])
    raised = _python_error(message)
    if raised is not None:  # an executor's Python failure, however Java wrapped it: its frames go
        head = head.split(PYTHON_TRACEBACK)[0].replace("Please see the stack trace below.", "").strip()
        message = f"{head} {raised}".strip()
    elif len(lines) > 1 and any(line.startswith("Caused by:") for line in lines):
        cause = [line for line in lines if line.startswith("Caused by:")][-1].removeprefix("Caused by: ")
        message = head if cause in head else f"{head} (caused by {cause})"
    text = _WORKING_FOLDER.sub(r"/\1", _one_line(message))
    if len(text) > MAX_FAILURE_CHARS:
        text = text[:MAX_FAILURE_CHARS] + " ..."
    if "CHECKPOINT_RDD_BLOCK_ID_NOT_FOUND" in message:
        text = f"an executor holding dedup's checkpoints was lost: set --conf spark.checkpoint.dir to shared storage (hdfs://, s3a://; docs/cluster.md); {text}"
    if NO_SPACE in message:
        text = f"{NO_SPACE}: a disk the job writes to is full (the output's, or Spark's local folders: SPARK_LOCAL_DIRS or spark.local.dir); {text}"
    return text


if __name__ == "__main__":
    main()
