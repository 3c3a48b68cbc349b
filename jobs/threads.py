"""Checks a command makes of many servers at once (HTTP sizes, HTTP versions), on daemon threads.

A ThreadPoolExecutor's threads are joined when the interpreter exits, so a Ctrl-C or a SIGTERM during the
checks waited for every retry of every server still being asked (a minute and more with the defaults), and a
scheduler's SIGKILL came first, leaving the job's temporary output behind. Daemon threads are left to die
with the process; the command stops at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def run_concurrently(
    check: Callable[[Item], Result],
    items: Sequence[Item],
    workers: int,
    slow_after_s: float,
    on_slow: Callable[[int], None] | None = None,
) -> list[Result]:
    """`check(item)` for every item, in order, `workers` at a time on daemon threads; `on_slow(n)` once where
    `n` are still running after `slow_after_s` seconds. The first exception a check raised is raised here,
    after all have ended; an interrupt of the calling thread is not held up by them."""
    results: list[Result | None] = [None] * len(items)
    errors: list[BaseException | None] = [None] * len(items)
    pending = list(range(len(items)))
    left = [len(items)]
    lock = threading.Lock()
    finished = threading.Event()
    if not items:
        return []

    def work() -> None:
        while True:
            with lock:
                if not pending:
                    return
                index = pending.pop(0)
            try:
                results[index] = check(items[index])
            except BaseException as error:  # handed to the caller, which raises it
                errors[index] = error
            with lock:
                left[0] -= 1
                if left[0] == 0:
                    finished.set()

    for _ in range(min(workers, len(items))):
        threading.Thread(target=work, daemon=True).start()
    if not finished.wait(slow_after_s) and on_slow is not None:
        with lock:
            running = left[0]
        on_slow(running)
    while not finished.wait(0.5):  # short waits: a signal reaches the main thread between them
        pass
    for error in errors:
        if error is not None:
            raise error
    return results  # type: ignore[return-value]
