"""Progress for a user who waits: Spark stages, training, probing and a pipeline's stages, on stdout.

On a terminal the work in progress is drawn as rich bars (count, share, elapsed time, ETA). When stdout is not
a terminal (a log file, CI, a pipe) one plain line is printed every `interval_s` seconds instead, and only
while something is in progress, so a short command prints nothing extra:

    [progress 2m30s] pipeline demo 4/6 | train raw-s0 310/732 steps 42% loss 3.912, 9,850 tok/s ETA 1m12s

The CLI opens one `Reporter` for the whole command (`reporting()`); jobs ask `current()` for it and the
library code (trainers/) only ever gets a plain callback. Without an open reporter (tests, notebooks)
`current()` is silent. Spark's stages are read by polling the status tracker (no listener, no web UI) from a
daemon thread while a session runs (`watch_spark`). `CHRONOMIX_PROGRESS_INTERVAL` sets the seconds between
plain lines (default 15).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

DEFAULT_INTERVAL_S = 15.0
MIN_INTERVAL_S = 0.5  # 0 or less printed a line per loop turn: 60,000 lines in a 10 s job


def interval_from_environment() -> float:
    """Seconds between plain progress lines: CHRONOMIX_PROGRESS_INTERVAL (at least MIN_INTERVAL_S), else
    the default. A value that is no number is a warning, not a failed command (it was read at import)."""
    value = os.environ.get("CHRONOMIX_PROGRESS_INTERVAL")
    if not value:
        return DEFAULT_INTERVAL_S
    try:
        seconds = float(value)
    except ValueError:
        print(
            f"chronomix: CHRONOMIX_PROGRESS_INTERVAL={value!r} is no number of seconds; using {DEFAULT_INTERVAL_S:g}",
            file=sys.stderr,
        )
        return DEFAULT_INTERVAL_S
    return max(MIN_INTERVAL_S, seconds) if math.isfinite(seconds) else DEFAULT_INTERVAL_S


SPARK_POLL_S = 0.5
# Seconds a Spark stage may wait with no executor at all before the user is told why nothing moves (Spark's
# own "Initial job has not accepted any resources" is a log line below the level the CLI shows).
NO_EXECUTOR_NOTICE_S = float(os.environ.get("CHRONOMIX_NO_EXECUTOR_NOTICE_S") or 30)


@dataclass
class Task:
    """One thing in progress: `completed` of `total` `unit` (total None: unknown), and a short `info`."""

    description: str
    total: float | None = None
    unit: str = ""
    completed: float = 0.0
    info: str = ""
    started: float = field(default_factory=time.monotonic)
    reporter: Reporter | None = None
    rich_id: TaskID | None = None
    show_eta: bool = True  # False where the units differ too much for a rate to mean anything (stages)

    def update(
        self,
        completed: float | None = None,
        total: float | None = None,
        info: str | None = None,
        description: str | None = None,
    ) -> None:
        if self.reporter is not None:
            self.reporter._update(self, completed, total, info, description)

    def done(self) -> None:
        if self.reporter is not None:
            self.reporter._remove(self)

    def eta_s(self) -> float | None:
        """Seconds left at the rate so far, or None while unknown."""
        elapsed = time.monotonic() - self.started
        if not self.show_eta or not self.total or self.completed <= 0 or elapsed <= 0:
            return None
        return max(0.0, (self.total - self.completed) * elapsed / self.completed)

    def line(self) -> str:
        """The task on one plain line."""
        parts = [self.description]
        if self.total:
            share = 100 * self.completed / self.total
            parts.append(
                f"{self.completed:,.0f}/{self.total:,.0f}{' ' + self.unit if self.unit else ''} {share:.0f}%"
            )
        elif self.completed:
            parts.append(f"{self.completed:,.0f}{' ' + self.unit if self.unit else ''}")
        if self.info:
            parts.append(self.info)
        eta = self.eta_s()
        if eta is not None:
            parts.append(f"ETA {duration(eta)}")
        return " ".join(parts)


def duration(seconds: float) -> str:
    """`seconds` as 1h02m, 3m05s or 42s."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Reporter:
    """Draws the tasks in progress (see the module docstring). `live`: bars (default: when the console is a
    terminal); else plain lines every `interval_s` seconds. `enabled=False` makes a reporter that shows
    nothing (what `current()` gives when no command opened one)."""

    def __init__(
        self,
        console: Console | None = None,
        live: bool | None = None,
        interval_s: float | None = None,
        enabled: bool = True,
    ) -> None:
        self.console = console or Console()
        self.enabled = enabled
        self.live = self.console.is_terminal if live is None else live
        self.interval_s = interval_s if interval_s is not None else interval_from_environment()
        self.started = time.monotonic()
        self._tasks: list[Task] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._bars: Progress | None = None

    # -- tasks ---------------------------------------------------------------------------------------------

    def task(self, description: str, total: float | None = None, unit: str = "") -> Task:
        """A new task in progress (shown until `done`)."""
        task = Task(description, total, unit, reporter=self if self.enabled else None)
        if not self.enabled:
            return task
        with self._lock:
            self._tasks.append(task)
            if self.live:
                bars = self._start_bars()
                task.rich_id = bars.add_task(description, total=total, info="")
            else:
                self._start_ticker()
        return task

    def say(self, message: str, markup: bool = True) -> None:
        """One line above the bars (or in the log): never broken at the console's width, so a log can be
        searched for it; `markup=False` where it holds text of others (a path may hold brackets)."""
        if self.enabled:
            console = self._bars.console if self._bars is not None else self.console
            console.print(message, highlight=False, soft_wrap=True, markup=markup)

    def stages(self, title: str, names: Sequence[str]) -> Callable[[str, str], None]:
        """An `on_stage(name, status)` callback for jobs.runner.run_stages: says each stage's position as it
        starts ("[3/6] dedup"), and keeps a task with the overall position."""
        overall = self.task(title, total=len(names), unit="stages")
        overall.show_eta = False
        finished: set[str] = set()

        def on_stage(name: str, status: str) -> None:
            position = names.index(name) + 1 if name in names else len(finished) + 1
            elapsed = duration(time.monotonic() - overall.started)
            if status == "running":
                self.say(f"[{position}/{len(names)}] {escape(name)} [dim]({elapsed} into {escape(title)})[/]")
                overall.update(info=f"now: {name}")
            else:
                finished.add(name)
                overall.update(completed=len(finished))
                if status == "skipped":
                    self.say(
                        f"[{position}/{len(names)}] {name} [dim]skipped: complete with the same inputs[/]"
                    )
            if len(finished) == len(names):
                overall.done()

        return on_stage

    def _update(
        self,
        task: Task,
        completed: float | None,
        total: float | None,
        info: str | None,
        description: str | None,
    ) -> None:
        with self._lock:
            if completed is not None:
                task.completed = completed
            if total is not None:
                task.total = total
            if info is not None:
                task.info = info
            if description is not None:
                task.description = description
            if self._bars is not None and task.rich_id is not None:
                self._bars.update(
                    task.rich_id,
                    completed=task.completed,
                    total=task.total,
                    info=task.info,
                    description=task.description,
                )

    def _remove(self, task: Task) -> None:
        with self._lock:
            if task in self._tasks:
                self._tasks.remove(task)
            if self._bars is not None and task.rich_id is not None:
                self._bars.remove_task(task.rich_id)
                task.rich_id = None

    # -- drawing -------------------------------------------------------------------------------------------

    def _start_bars(self) -> Progress:
        if self._bars is None:
            self._bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
                refresh_per_second=4,
            )
            self._bars.start()
        return self._bars

    def _start_ticker(self) -> None:
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="chronomix-progress", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval_s):
            line = self.plain_line()
            if line:
                self.console.print(line, highlight=False, markup=False, soft_wrap=True)

    def plain_line(self) -> str | None:
        """What the tasks in progress look like on one plain line, or None when nothing is in progress."""
        with self._lock:
            tasks = list(self._tasks)
        if not tasks:
            return None
        elapsed = duration(time.monotonic() - self.started)
        return f"[progress {elapsed}] " + " | ".join(task.line() for task in tasks)

    def close(self) -> None:
        self._stop.set()
        if self._bars is not None:
            self._bars.stop()
            self._bars = None
        with self._lock:
            self._tasks.clear()

    # -- Spark ---------------------------------------------------------------------------------------------

    def watch_spark(self, spark_context: Any) -> Callable[[], None]:
        """Show the active Spark stages (tasks done of all) until the returned function is called."""
        if not self.enabled:
            return lambda: None
        stop = threading.Event()
        thread = threading.Thread(
            target=self._poll_spark, args=(spark_context, stop), name="chronomix-spark-progress", daemon=True
        )
        thread.start()

        def unwatch() -> None:
            stop.set()
            thread.join(timeout=5)

        return unwatch

    def _poll_spark(self, spark_context: Any, stop: threading.Event) -> None:
        shown: dict[int, Task] = {}
        starved = _Starved(spark_context, self.say)
        try:
            while not stop.wait(SPARK_POLL_S):
                active = spark_stage_counts(spark_context)
                starved.check(active)
                for stage_id, (name, total, done, running) in active.items():
                    task = shown.get(stage_id)
                    if task is None:
                        task = shown[stage_id] = self.task(
                            f"spark stage {stage_id}", total=total, unit="tasks"
                        )
                    what = f", {name}" if name and not name.startswith("$") else ""
                    task.update(completed=done, total=total, info=f"{running} running{what}")
                for stage_id in set(shown) - set(active):
                    shown.pop(stage_id).done()
        except Exception:  # the session was stopped under us: nothing left to show
            pass
        finally:
            for task in shown.values():
                task.done()


class _Starved:
    """Says once, when Spark stages have had tasks to run but no executor for NO_EXECUTOR_NOTICE_S, what
    the job asks of a worker (a cluster whose workers are too small, all busy or gone waits forever without
    a word), and once more each time it happens again."""

    def __init__(self, spark_context: Any, say: Callable[[str], None]) -> None:
        self.spark_context = spark_context
        self.say = say
        self.local = str(spark_context.master).startswith("local")
        self.since: float | None = None
        self.said = False

    def check(self, active: dict[int, tuple[str, int, int, int]]) -> None:
        waiting = any(running == 0 and done < total for _, total, done, running in active.values())
        if self.local or not waiting or executor_count(self.spark_context) > 0:
            self.since, self.said = None, False
            return
        now = time.monotonic()
        self.since = self.since if self.since is not None else now
        if not self.said and now - self.since >= NO_EXECUTOR_NOTICE_S:
            self.said = True
            self.say(no_executor_notice(self.spark_context, now - self.since))


def executor_count(spark_context: Any) -> int:
    """Executors registered with the driver, the driver not counted."""
    return max(0, int(spark_context._jsc.sc().getExecutorMemoryStatus().size()) - 1)


def no_executor_notice(spark_context: Any, waited_s: float) -> str:
    """What a job that has had no executor for `waited_s` seconds tells the user."""
    conf = spark_context.getConf()
    memory = conf.get("spark.executor.memory", "1g")
    cores = conf.get("spark.executor.cores", "all of a worker's")
    return (
        f"spark: no executor for {waited_s:.0f} s: no worker of {spark_context.master} has "
        f"spark.executor.memory={memory} and spark.executor.cores={cores} free, or none is running (the "
        "master's web UI lists its workers and their free memory); the job waits until one has"
    )


def spark_stage_counts(spark_context: Any) -> dict[int, tuple[str, int, int, int]]:
    """stage id -> (short name, tasks, tasks done, tasks running) of the active stages, from the status
    tracker (which needs no web UI)."""
    tracker = spark_context.statusTracker()
    counts = {}
    for stage_id in sorted(tracker.getActiveStageIds()):
        info = tracker.getStageInfo(stage_id)
        if info is not None:
            name = str(info.name).split(" at ")[0]
            counts[stage_id] = (
                name,
                int(info.numTasks),
                int(info.numCompletedTasks),
                int(info.numActiveTasks),
            )
    return counts


_CURRENT: Reporter | None = None
_SILENT = Reporter(Console(quiet=True), live=False, enabled=False)


def current() -> Reporter:
    """The command's reporter, or a silent one when none is open."""
    return _CURRENT if _CURRENT is not None else _SILENT


@contextlib.contextmanager
def reporting(console: Console | None = None, live: bool | None = None) -> Iterator[Reporter]:
    """Open the reporter of one command (nested calls share the outer one)."""
    global _CURRENT
    if _CURRENT is not None:
        yield _CURRENT
        return
    reporter = Reporter(console, live)
    _CURRENT = reporter
    try:
        yield reporter
    finally:
        _CURRENT = None
        reporter.close()


@contextlib.contextmanager
def said_if_slow(message: str, after_s: float = 2.0) -> Iterator[None]:
    """Say `message` if the block is still running after `after_s` seconds: a wait on a remote store that
    would otherwise pass for a hang (a listing on an endpoint that does not answer takes its SDK's retries)."""
    reporter = current()
    timer = threading.Timer(after_s, reporter.say, args=(message,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def training_callback(task: Task) -> Callable[[Any], None]:
    """A trainers.train progress callback that updates `task`: steps, loss and tokens/s."""

    def report(state: Any) -> None:
        loss = f"loss {state.loss:.3f}" if state.loss is not None else "loss -"
        speed = f"{state.tokens_per_s:,.0f} tok/s" if state.tokens_per_s else ""
        task.update(
            completed=state.step, total=state.total_steps, info=", ".join(p for p in (loss, speed) if p)
        )

    return report


def probing_callback(task: Task, name: str) -> Callable[[str, int, int], None]:
    """A trainers.probes progress callback (what is scored, done, total) that updates `task`."""

    def report(what: str, done: int, total: int) -> None:
        task.update(completed=done, total=total, description=f"probe {name}: {what}")

    return report
