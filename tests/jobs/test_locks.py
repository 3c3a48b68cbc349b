"""One writer per place (jobs/locks.py): a second chronomix process asking for an output or a cross-dump
index that another holds stops at once with one line naming the holder, through the real commands; a holder
killed with -9 leaves nothing that blocks the next."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from jobs.contract import UsageError
from jobs.locks import holding, lock_file
from tests.jobs.cli_helpers import _documents, _refused

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def held_elsewhere(place: Path, command: str = "chronomix dedup a -o b --index c") -> Iterator[int]:
    """Another process holding `place`'s lock while the block runs; yields its pid."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from jobs.locks import holding
        with holding([{str(place)!r}], {command!r}):
            print("held", flush=True)
            time.sleep(120)
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_a_held_place_stops_a_second_writer_naming_the_holder_and_kill_9_frees_it(tmp_path: Path) -> None:
    place = tmp_path / "index"
    with held_elsewhere(place) as pid:
        with pytest.raises(UsageError) as refused, holding([str(place)]):
            pass
        message = str(refused.value)
        assert message.startswith(f"{place}: another chronomix is writing it now (pid {pid} on ")
        assert "chronomix dedup a -o b --index c" in message and "\n" not in message
        os.kill(pid, signal.SIGKILL)  # the finally's kill finds it dead: what a crashed holder leaves
        os.waitpid(pid, 0)
        assert lock_file(str(place)).exists()  # left behind by the killed holder, and free
    with holding([str(place)]):
        assert lock_file(str(place)).exists()
    assert not lock_file(str(place)).exists()  # a holder that finishes removes its file
    assert not place.exists()  # the lock makes nothing at the place itself


def test_a_place_held_by_this_process_is_taken_again_by_its_inner_stages(tmp_path: Path) -> None:
    place = str(tmp_path / "out")
    with holding([place, place]), holding([place]):
        assert lock_file(place).exists()
    assert not lock_file(place).exists()
    with (
        held_elsewhere(tmp_path / "out"),
        pytest.raises(UsageError, match="another chronomix"),
        holding([place]),
    ):
        pass


def test_places_on_object_stores_are_not_locked() -> None:
    assert lock_file("s3://bucket/out") is None
    assert str(lock_file("file:///data/run/out")) == "/data/run/.out.lock"


def test_dedup_on_an_index_another_process_writes_exits_2(tmp_path: Path, capsys) -> None:
    """Two dedups through one index both exited 0 and the index kept one run's documents only."""
    docs = _documents(tmp_path / "docs")
    index = tmp_path / "index"
    with held_elsewhere(index) as pid:
        err = _refused(["dedup", str(docs), "-o", str(tmp_path / "out"), "--index", str(index)], capsys)
    assert f"{index}: another chronomix is writing it now (pid {pid} " in err
    assert not (tmp_path / "out").exists()


def test_a_pipeline_run_on_a_folder_another_run_holds_stops_before_any_stage(tmp_path: Path, capsys) -> None:
    """Two runs of one folder each redid every stage, and the one with other settings had its result
    replaced by the other's while both reported success."""
    docs = _documents(tmp_path / "docs")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"stages:\n  - {{kind: dedup, input: {str(docs)!r}}}\n")
    out = tmp_path / "out"
    with held_elsewhere(out, "chronomix run p.yaml -o out") as pid:
        err = _refused(["run", str(pipeline), "-o", str(out)], capsys)
    assert f"{out}: another chronomix is writing it now (pid {pid} " in err
    assert "chronomix run p.yaml -o out" in err
    assert not out.exists()


def test_a_stage_whose_output_another_process_writes_stops_the_pipeline_at_that_stage(tmp_path: Path) -> None:
    """The stage's lock is taken before its marker is read: a run that found another's stage half written
    told the user to move a good output away."""
    from jobs.pipeline import load_pipeline, run_pipeline

    docs = _documents(tmp_path / "docs")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"stages:\n  - {{name: dedup, kind: dedup, input: {str(docs)!r}}}\n")
    out = tmp_path / "out"
    with held_elsewhere(out / "dedup") as pid, pytest.raises(UsageError) as refused:
        run_pipeline(load_pipeline(pipeline, output=str(out)))
    assert str(refused.value).startswith(f"{out / 'dedup'}: another chronomix is writing it now (pid {pid} ")
    assert not (out / "dedup").exists()


def test_one_place_named_through_a_link_is_one_lock(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "out")
    assert lock_file(str(tmp_path / "link")) == lock_file(str(tmp_path / "out"))
    link = str(tmp_path / "link")
    with (
        held_elsewhere(tmp_path / "out"),
        pytest.raises(UsageError, match="another chronomix"),
        holding([link]),
    ):
        pass


def test_what_the_lock_file_says_and_what_it_leaves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The holder's command line without a URL's credentials (the file is readable by others, and its words
    reach their error lines); folders made for the lock alone are removed; a place whose folder cannot take
    a lock file (under a file) is left unlocked, and the command's own write reports it."""
    import json

    url = "https://alice:PASSWORD@host.example/data.jsonl?X-Amz-Signature=SECRET"
    monkeypatch.setattr(sys, "argv", ["chronomix", "audit", url, "-o", "rep"])
    place = tmp_path / "new" / "deeper" / "out"
    with holding([str(place)]):
        holder = json.loads(lock_file(str(place)).read_text())
        assert holder["pid"] == os.getpid() and "PASSWORD" not in holder["command"]
        assert holder["command"] == "chronomix audit https://host.example/data.jsonl -o rep"
    assert not (tmp_path / "new").exists()
    (tmp_path / "file").write_text("x")
    with holding([str(tmp_path / "file" / "out")]):  # no lock possible: no EBADF at the end either
        pass


def test_a_stage_without_an_output_locks_nothing_in_the_working_folder() -> None:
    """A probe's output defaults to its run's folder: `None` was locked as ./None, and two probes of other
    runs refused each other."""
    from dataclasses import dataclass

    from jobs.runner import written_places

    @dataclass
    class Params:
        output: str | None = None
        REWRITTEN_FIELDS = frozenset({"index"})
        WRITTEN_FIELDS = frozenset({"work"})
        index: str | None = "idx"
        work: str | None = None

    assert written_places(Params()) == ["idx"]
    assert written_places(Params(output="o", work="w")) == ["o", "idx", "w"]


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_another_user_is_refused_on_a_shared_folder(tmp_path: Path) -> None:
    """The holder's lock file (0644) could not be opened for writing by another user, who then went on
    without a lock, and removed the holder's file on leaving."""
    shared = Path(tempfile.mkdtemp(prefix="chronomix-shared-"))  # pytest's own folders are the owner's only
    shared.chmod(0o777)
    place = shared / "out"
    code = f"from jobs.locks import holding\nwith holding([{str(place)!r}]):\n    print('GOT IN')"
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code]
    with held_elsewhere(place) as pid:
        done = subprocess.run(
            as_nobody, cwd=ROOT, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT)}
        )
        assert (
            "GOT IN" not in done.stdout and f"another chronomix is writing it now (pid {pid} " in done.stderr
        )
        assert lock_file(str(place)).exists()  # still the holder's
    shutil.rmtree(shared)
