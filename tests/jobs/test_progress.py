"""Progress: plain lines every N seconds when stdout is not a terminal, rich bars when it is, a pipeline's
position, and Spark's stages read from the status tracker while a job runs."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time

import pyarrow as pa
from rich.console import Console

from jobs import progress
from jobs.progress import Reporter, duration


def plain(interval_s: float = 0.05) -> tuple[Reporter, io.StringIO]:
    out = io.StringIO()
    return Reporter(Console(file=out, force_terminal=False, width=200), interval_s=interval_s), out


def test_plain_lines_every_interval_only_while_something_is_in_progress() -> None:
    reporter, out = plain()
    time.sleep(0.2)
    assert out.getvalue() == ""  # nothing in progress: nothing printed
    task = reporter.task("train raw-s0", total=100, unit="steps")
    task.started -= 10.0  # 10 s in
    task.update(completed=25, info="loss 3.912, 9,850 tok/s")
    time.sleep(0.3)
    task.done()
    time.sleep(0.2)
    lines = out.getvalue().splitlines()
    reporter.close()
    assert len(lines) >= 3
    assert all(line.startswith("[progress ") for line in lines)
    # 25 of 100 steps in 10 s: 75 left at 2.5 steps/s is 30 s
    assert "train raw-s0 25/100 steps 25% loss 3.912, 9,850 tok/s ETA 30s" in lines[0]
    after = len(out.getvalue().splitlines())
    time.sleep(0.2)
    assert len(out.getvalue().splitlines()) == after  # done: no more lines


def test_bars_on_a_terminal() -> None:
    out = io.StringIO()
    reporter = Reporter(Console(file=out, force_terminal=True, width=120), interval_s=60)
    assert reporter.live
    task = reporter.task("probe raw-s0", total=96, unit="scored")
    task.update(completed=48, info="fact choices")
    reporter.say("[1/2] probe raw-s0")
    time.sleep(0.4)
    reporter.close()
    drawn = out.getvalue()
    assert "probe raw-s0" in drawn and "48/96" in drawn and "fact choices" in drawn and "━" in drawn


def test_stage_positions_and_the_silent_default() -> None:
    reporter, out = plain(interval_s=60)
    on_stage = reporter.stages("pipeline demo", ["world", "ingest", "dated"])
    on_stage("world", "skipped")
    on_stage("ingest", "running")
    assert reporter.plain_line().endswith("pipeline demo 1/3 stages 33% now: ingest")
    on_stage("ingest", "done")
    on_stage("dated", "running")
    on_stage("dated", "done")
    assert reporter.plain_line() is None  # all done
    said = out.getvalue().splitlines()
    reporter.close()
    assert said[0].startswith("[1/3] world skipped") and said[1].startswith("[2/3] ingest (")
    assert said[2].startswith("[3/3] dated (")
    assert not progress.current().enabled  # no command opened a reporter
    progress.current().task("nothing").update(completed=1)  # and it takes calls without showing them
    with progress.reporting(Console(file=io.StringIO())) as opened:
        assert progress.current() is opened and opened.enabled
    assert not progress.current().enabled
    assert (duration(42), duration(185), duration(3720)) == ("42s", "3m05s", "1h02m")


def test_spark_stages_are_shown_while_a_job_runs(spark) -> None:
    reporter, out = plain(interval_s=0.2)
    unwatch = reporter.watch_spark(spark.sparkContext)

    def slow(batches):
        for batch in batches:
            time.sleep(0.4)
            yield pa.RecordBatch.from_pydict({"id": batch.column("id")})

    seen: list[str] = []

    def look() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not seen:
            line = reporter.plain_line()
            if line and "spark stage" in line:
                seen.append(line)
            time.sleep(0.1)

    watcher = threading.Thread(target=look)
    watcher.start()
    rows = spark.range(0, 8, numPartitions=8).mapInArrow(slow, "id long").collect()
    watcher.join()
    unwatch()
    time.sleep(0.3)
    reporter.close()
    assert len(rows) == 8
    assert seen and "/8 tasks" in seen[0] and "running" in seen[0], seen
    assert "spark stage" in out.getvalue()
    assert reporter.plain_line() is None  # the job is over: its stage is gone


def test_the_interval_from_the_environment_never_breaks_a_command(monkeypatch, capsys) -> None:
    """CHRONOMIX_PROGRESS_INTERVAL=15s made every command fail at import (a traceback, even for --help), and
    0 printed 60,014 lines in a 10 s ingest."""
    for value, expected in (("", 15.0), ("2", 2.0), ("0", 0.5), ("-3", 0.5), ("nan", 15.0)):
        monkeypatch.setenv("CHRONOMIX_PROGRESS_INTERVAL", value)
        assert progress.interval_from_environment() == expected, value
    monkeypatch.setenv("CHRONOMIX_PROGRESS_INTERVAL", "15s")
    assert Reporter(console=Console(file=io.StringIO())).interval_s == 15.0
    assert "CHRONOMIX_PROGRESS_INTERVAL='15s' is no number of seconds; using 15" in capsys.readouterr().err
    done = subprocess.run(
        [sys.executable, "-c", "from jobs.cli import main; main(['--help'])"],
        capture_output=True,
        text=True,
        env={**os.environ, "CHRONOMIX_PROGRESS_INTERVAL": "15s"},
        check=False,
    )
    assert done.returncode == 0 and "Usage: chronomix" in done.stdout, done.stderr


def test_a_wait_is_said_only_once_it_has_lasted() -> None:
    """A listing on an object store that does not answer waited out its SDK's retries (100 s) in silence."""
    console = Console(file=io.StringIO(), width=120)
    with progress.reporting(console, live=False):
        with progress.said_if_slow("listing s3://b/x: waiting on the store", after_s=0.1):
            time.sleep(0.4)
        with progress.said_if_slow("quick: never said", after_s=0.5):
            pass
        time.sleep(0.6)  # past the quick block's moment: its notice was cancelled
    said = console.file.getvalue()
    assert said.count("listing s3://b/x: waiting on the store") == 1 and "never said" not in said
