"""`chronomix dedup` through the CLI: bad arguments end at once with status 2; a real run end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jobs.cli import main
from tests.dedup.helpers import version_documents

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def docs(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    pq.write_table(version_documents(data_dir, articles=20), folder / "part-00000.parquet")
    return folder


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--keep", "best"], "--keep 'best'"),
        (["--threshold", "1.5"], "--threshold 1.5"),
        (["--same-host-threshold", "0"], "--same-host-threshold 0.0: must be above 0 and at most 1"),
        (["--same-host-threshold", "1.2"], "--same-host-threshold 1.2"),
        (["--bands", "4"], "bands and rows"),
        (["--bands", "20", "--rows", "10"], "exceeds num_perm"),
        (["--engine", "gpu"], "--engine 'gpu'"),
    ],
)
def test_bad_options_exit_2(
    docs: Path, tmp_path: Path, capsys: pytest.CaptureFixture, extra: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["dedup", str(docs), "--output", str(tmp_path / "o"), *extra])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_bad_inputs_exit_2(docs: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for args, message in (
        ([str(tmp_path / "nothing")], "no such file"),
        ([str(data_dir / "warc" / "dolma_sample-0000.warc.gz")], "run ingest first"),
    ):
        with pytest.raises(SystemExit) as done:
            main(["dedup", *args, "--output", str(tmp_path / "o")])
        assert done.value.code == 2 and message in capsys.readouterr().err
    (tmp_path / "exists").mkdir()
    with pytest.raises(SystemExit) as done:
        main(["dedup", str(docs), "--output", str(tmp_path / "exists")])
    assert done.value.code == 2 and "--overwrite" in capsys.readouterr().err


def test_cli_end_to_end(docs: Path, tmp_path: Path, spark, capsys: pytest.CaptureFixture) -> None:
    # In this process: the command finds the tests' session and leaves it running (jobs.spark.LazySession
    # stops only a session it started).
    out = tmp_path / "out"
    args = ["--threshold", "0.8", "--keep", "oldest", "--index", str(tmp_path / "index")]
    main(["dedup", str(docs), "--output", str(out), "--master", "local[2]", *args])
    stdout = capsys.readouterr().out
    stats = json.loads((out / "_stats.json").read_text())
    assert stats["docs_in"] == stats["docs_out"] + stats["dropped"]["dedup_not_kept"]
    assert stats["docs_out"] == 20  # one per article (URL key), the oldest version
    kept = pq.read_table(out).column("id").to_pylist()
    assert all(doc_id.endswith("/0") for doc_id in kept)
    settings = json.loads((out / "_dedup.json").read_text())
    assert (settings["lsh"]["bands"], settings["lsh"]["rows"], settings["keep"]) == (14, 9, "oldest")
    assert settings["lsh"]["same_host_threshold"] == 0.9
    assert settings["components"]["candidates"] >= settings["components"]["verified"] > 0
    # the stage's time holds its steps up to the write (it said 0.0 s, and a documents/s 30 times too high)
    before_write = sum(v for k, v in settings["seconds"].items() if k not in ("write", "clusters", "index"))
    assert stats["seconds"] >= before_write > 0, (stats["seconds"], settings["seconds"])
    assert json.loads((tmp_path / "index" / "_index.json").read_text())["documents"] == 20
    assert "documents in" in stdout


@pytest.mark.parametrize("max_local_documents", [0, 1_000_000], ids=["spark", "driver"])
def test_a_run_that_fails_after_its_documents_are_in_place_leaves_no_output(
    docs: Path, tmp_path: Path, spark, monkeypatch: pytest.MonkeyPatch, max_local_documents: int
) -> None:
    """The documents are moved into place before `_clusters`, the index and `_dedup.json` are written. A
    full disk (or a Ctrl-C) there left a folder of documents that readers, mix and a rerun took for a
    finished dedup, and no index for the next dump."""
    import jobs.dedup_common

    def full_disk(*_: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(jobs.dedup_common, "write_index", full_disk)
    out, index = tmp_path / "out", tmp_path / "index"
    if max_local_documents:  # the output a link to a bigger disk: the folder goes, the link stays
        (tmp_path / "big").mkdir()
        out.symlink_to(tmp_path / "big" / "out")
    args = ["--index", str(index), "--max-local-documents", str(max_local_documents), "--master", "local[2]"]
    with pytest.raises(SystemExit) as failed:
        main(["dedup", str(docs), "--output", str(out), *args])
    assert failed.value.code == 1
    assert not out.exists() and not index.exists()
    from jobs.fs import FINISHED  # a Ctrl-C's line named out/_clusters as finished and kept, with out gone

    assert not [f for f in FINISHED if "_clusters" in f], FINISHED
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert left == (["big", "out"] if max_local_documents else [])  # no working folder either
    monkeypatch.undo()
    main(["dedup", str(docs), "--output", str(out), *args])  # the same command, as it was first given
    assert (out / "_dedup.json").exists() and (index / "_index.json").exists()


def test_a_damaged_index_and_an_unfinished_output_are_named_before_spark(
    docs: Path, tmp_path: Path, spark, capsys: pytest.CaptureFixture
) -> None:
    """An index whose part files were lost was read as empty, and the run replaced it with its own documents
    alone; a truncated part failed with pyarrow's words, naming no file; an output whose run was killed
    before its index was written was refused only as existing, and the next dump kept copies of its texts."""
    import shutil

    from tests.jobs.cli_helpers import _refused

    out, index = tmp_path / "out", tmp_path / "index"
    main(["dedup", str(docs), "--output", str(out), "--index", str(index), "--master", "local[2]"])
    capsys.readouterr()
    parts = sorted(index.glob("*.parquet"))
    assert parts and json.loads((index / "_index.json").read_text())["documents"] == 20
    lost, truncated = tmp_path / "lost", tmp_path / "truncated"
    shutil.copytree(index, lost)
    for part in lost.glob("*.parquet"):
        part.unlink()
    shutil.copytree(index, truncated)
    cut = truncated / parts[0].name
    cut.write_bytes(cut.read_bytes()[:100])
    for damaged, said in (
        (lost, "_index.json counts 20 documents but its part files hold 0 (a part lost or added)"),
        (truncated, f"{parts[0].name} is damaged ("),
    ):
        err = _refused(
            ["dedup", str(docs), "--output", str(tmp_path / "next"), "--index", str(damaged)], capsys
        )
        assert f"--index '{damaged}': {said}" in err, err
    assert not (tmp_path / "next").exists() and len(list(lost.iterdir())) == 1
    (out / "_dedup.json").unlink()  # as a run killed between the documents' move and the index's write
    err = _refused(["dedup", str(docs), "--output", str(out), "--index", str(index)], capsys)
    assert "is a dedup that did not finish (no _dedup.json" in err and "rerun it with --overwrite" in err, err
    other = tmp_path / "dated"  # another stage's output is only an existing output
    other.mkdir()
    (other / "_stats.json").write_text(json.dumps({"stage": "date", "docs_in": 1}))
    err = _refused(["dedup", str(docs), "--output", str(other), "--index", str(index)], capsys)
    assert "did not finish" not in err and "exists" in err, err
    # an index of no documents holds no part files; one whose _index.json counts none says nothing more
    empty = tmp_path / "empty"
    empty.mkdir()
    meta = json.loads((index / "_index.json").read_text())
    (empty / "_index.json").write_text(json.dumps({**meta, "documents": 0}))
    main(
        ["dedup", str(docs), "--output", str(tmp_path / "o1"), "--index", str(empty), "--master", "local[2]"]
    )
    meta.pop("documents")
    (empty / "_index.json").write_text(json.dumps(meta))  # as written before it counted them
    main(
        ["dedup", str(docs), "--output", str(tmp_path / "o2"), "--index", str(empty), "--master", "local[2]"]
    )
    assert json.loads((empty / "_index.json").read_text())["documents"] == 20
