"""`chronomix world` writes its folder through AtomicStageOutput: refused when it exists, replaced whole with
--overwrite, never left half-written."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs.contract import UsageError
from jobs.runner import run_command
from jobs.world import STAGE, WorldParams
from tests.jobs.test_pipeline import REDUCED

WORLD_FILES = ["dumps", "probes", "summary.json", "truth", "world.yaml"]
# The reduced demo's world, far smaller than `tiny` (made twice below): the point is how its folder is
# replaced.
SMALL = {k: v for k, v in REDUCED["stages"][0].items() if k not in ("name", "kind", "preset", "seed")}


def test_world_output_is_refused_when_it_exists_and_replaced_whole_with_overwrite(tmp_path: Path) -> None:
    output = tmp_path / "w"
    result = run_command(STAGE, WorldParams(output=str(output), overrides=SMALL))
    assert result.value.output_dir == str(output) and result.summary["documents"] > 0
    assert sorted(p.name for p in output.iterdir()) == WORLD_FILES
    truth = (output / "truth" / "documents.parquet").read_bytes()
    (output / "stray").write_text("left by hand")

    with pytest.raises(UsageError, match="exists; pass --overwrite to replace it") as refused:
        run_command(STAGE, WorldParams(output=str(output), overrides=SMALL))
    assert refused.value.option == "--output"
    assert (output / "stray").exists()

    run_command(STAGE, WorldParams(output=str(output), overrides=SMALL, overwrite=True))
    assert sorted(p.name for p in output.iterdir()) == WORLD_FILES  # the stray file went with the old world
    assert (output / "truth" / "documents.parquet").read_bytes() == truth  # same seed, same bytes
    assert [p.name for p in tmp_path.iterdir()] == ["w"]  # no temporary or old folder left beside it


def test_an_interrupted_world_leaves_no_folder(tmp_path: Path) -> None:
    # Ctrl-C while the dumps are written: the temporary folder goes, and no output appears.
    code = (
        "from jobs.runner import run_command; from jobs.world import STAGE, WorldParams; "
        f"run_command(STAGE, WorldParams(output={str(tmp_path / 'w')!r}))"
    )
    process = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parents[2])
    _stop_while_writing(process, tmp_path, signal.SIGINT)
    assert process.returncode != 0
    assert list(tmp_path.iterdir()) == []


def _stop_while_writing(process: subprocess.Popen[str], folder: Path, sent: signal.Signals) -> str:
    """Send `sent` to `process` once the world it writes in `folder` has started its dumps; its stderr."""
    try:
        deadline = time.monotonic() + 60
        while not any(folder.glob(".w.tmp-*/dumps")) and process.poll() is None:
            assert time.monotonic() < deadline, "the world never started writing"
            time.sleep(0.02)
        assert process.poll() is None, "the world was written before it could be stopped"
        process.send_signal(sent)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    return stderr or ""


@pytest.mark.parametrize(
    ("sent", "status", "said"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_the_cli_stopped_by_ctrl_c_or_sigterm_says_so_in_one_line_and_leaves_no_folder(
    tmp_path: Path, sent: signal.Signals, status: int, said: str
) -> None:
    """Ctrl-C exited 130 without a word (typer turned the interrupt into a bare exit status), and SIGTERM, what
    `timeout`, Slurm and Kubernetes send, killed the job where it stood and left its temporary folder."""
    command = [sys.executable, "-m", "jobs.cli", "world", "--output", str(tmp_path / "w")]
    process = subprocess.Popen(command, cwd=Path(__file__).parents[2], stderr=subprocess.PIPE, text=True)
    stderr = _stop_while_writing(process, tmp_path, sent)
    assert process.returncode == status
    assert stderr.strip().splitlines()[-1] == f"chronomix: {said}" and "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []


def test_a_failure_that_follows_a_sigterm_is_reported_as_the_termination(monkeypatch, capsys) -> None:
    """SIGTERM sent to the process group (timeout, Slurm) stops Spark's JVM as well; the py4j call that then
    failed was reported as "failed: Py4JNetworkError" with exit 1 instead of "terminated" (143)."""
    import typer

    import jobs.cli as cli

    app = typer.Typer()

    @app.command()
    def stopped() -> None:
        cli._TERMINATED.append(signal.SIGTERM)  # the handler's record, as the signal left it
        raise ConnectionRefusedError("the JVM is gone")

    @app.command()
    def unused() -> None:
        """A second command, so that typer keeps the command names."""

    monkeypatch.setattr(cli, "build_app", lambda commands=None: app)
    with pytest.raises(SystemExit) as exited:
        cli.main(["stopped"])
    assert exited.value.code == 143 and capsys.readouterr().err.strip() == "chronomix: terminated"


def test_py4j_s_traceback_of_a_command_an_interrupt_cut_short_is_not_logged() -> None:
    import logging

    from jobs.cli import Terminated, _Py4JInterruptNoise

    noise = _Py4JInterruptNoise()
    cut = logging.LogRecord(
        "root", logging.ERROR, "java_gateway.py", 1070, "KeyboardInterrupt while sending command.", None, None
    )
    other = logging.LogRecord("root", logging.ERROR, "x.py", 1, "the disk is full", None, None)
    assert not noise.filter(cut) and noise.filter(other)
    # A JVM stopped by the same SIGTERM: py4j.clientserver logs each connection it cannot shut down, a
    # BrokenPipeError raised while handling the interrupt (2 of 4 SIGTERMs printed 4 such tracebacks).
    pipe = BrokenPipeError(32, "Broken pipe")
    pipe.__context__ = Terminated()

    def shutdown_failed(error: BaseException) -> logging.LogRecord:
        message = "Exception occurred while shutting down connection"
        return logging.LogRecord(
            "py4j.clientserver",
            logging.ERROR,
            "clientserver.py",
            512,
            message,
            None,
            (type(error), error, None),
        )

    assert not noise.filter(shutdown_failed(pipe)) and noise.filter(shutdown_failed(OSError("reset")))


def test_main_leaves_the_caller_s_sigterm_handler_and_logging_as_they_were() -> None:
    """Called as a library, main() left its SIGTERM handler in place: a later SIGTERM anywhere in the host
    program raised its interrupt, and the next Ctrl-C of a command was reported as "terminated" (143)."""
    import logging

    from jobs.cli import main

    mine = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        filters = list(logging.getLogger().filters)
        main(["world", "--help"])  # the help, and a normal return
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        assert logging.getLogger().filters == filters
    finally:
        signal.signal(signal.SIGTERM, mine)


def test_an_interrupt_after_the_output_was_finished_says_it_is_kept(monkeypatch, tmp_path, capsys) -> None:
    """A Ctrl-C that landed just after the output was moved into place said only "interrupted": the user
    took the complete output for a partial one, and the same command was then refused ("exists")."""
    import typer

    import jobs.cli as cli
    from jobs.fs import AtomicStageOutput

    app = typer.Typer()

    @app.command()
    def finished(output: str) -> None:
        with AtomicStageOutput(output, overwrite=False) as tmp:
            tmp.fs.create_dir(tmp.path)
            tmp.child("part-0.txt").write_text("all of it")
        raise KeyboardInterrupt  # as Ctrl-C, while the summary printed

    @app.command()
    def early() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_app", lambda commands=None: app)
    out = str(tmp_path / "out")
    with pytest.raises(SystemExit) as exited:
        cli.main(["finished", out])
    said = capsys.readouterr().err.strip()
    assert (
        exited.value.code == 130
        and said == f"chronomix: interrupted ({out} was finished before it, and is kept)"
    )
    assert (tmp_path / "out" / "part-0.txt").read_text() == "all of it"
    with pytest.raises(SystemExit):  # the next command in this process finished nothing
        cli.main(["early"])
    assert capsys.readouterr().err.strip() == "chronomix: interrupted"
