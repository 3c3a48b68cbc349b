"""The command line: every command is listed, a command imports only its own job module, a command whose
optional dependency is missing says how to install it, and bad names exit 2 with one line."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.cli import COMMANDS, main
from tests.jobs.cluster import ROOT


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter at the project's root."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    main([])  # a bare `chronomix` prints the help and returns
    listed = capsys.readouterr().out.split("Commands:")[1]
    assert [line.split()[0] for line in listed.strip().splitlines()] == list(COMMANDS)
    assert "unavailable" not in listed


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_a_spark_command_does_not_import_the_trainers() -> None:
    """`chronomix ingest` must not pay for torch and transformers (~10 s of imports), although they are
    installed: a fresh interpreter shows the command's help and reports what it imported."""
    done = run_python(
        "import sys\n"
        "from jobs.cli import main\n"
        "main(['ingest', '--help'])\n"
        "print(sorted(m for m in ('torch', 'transformers', 'jobs.train', 'jobs.dedup') if m in sys.modules))\n"
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: chronomix ingest" in done.stdout and "--added" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_commands_of_a_missing_extra_stay_listed_and_say_how_to_install_it() -> None:
    """Without torch (blocked in a fresh interpreter), `train`, `probe` and `experiment` are still listed,
    and running one, with any arguments, exits 2 with the install hint."""
    done = run_python(
        "import sys\n"
        "sys.modules['torch'] = None  # import torch now raises ModuleNotFoundError\n"
        "from jobs.cli import main\n"
        "main([])\n"
        "main(['train', 'spec.yaml', '-o', 'out'])\n"
    )
    listed = done.stdout.split("Commands:")[1]
    for name in ("train", "probe", "experiment"):
        line = next(line for line in listed.splitlines() if line.split()[:1] == [name])
        assert "(unavailable: pip install 'chronomix[train]'" in line, line
    assert "ingest" in listed and "ingest      (unavailable" not in listed
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "chronomix: error: this command needs an optional dependency: pip install 'chronomix[train]' "
        "(torch is missing)"
    )


def test_an_unknown_command_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["ingset", "x"])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("chronomix: error: No such command") and "\n" not in err


def test_bad_files_and_values_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each of these failed with exit 1 and an exception's name before; none needs Spark to be refused."""
    folder = tmp_path
    (folder / "latin1.yaml").write_bytes(b"preset: tiny\nentities: \xff\n")
    (folder / "grid.yaml").write_text("worlds: [{preset: tiny\n")
    (folder / "spec.yaml").write_bytes(b"name: x\nseed: \xff\n")
    cases = {
        ("world", "-o", str(folder / "w"), "--seed", "-1"): "--seed",
        ("world", "-o", str(folder / "w"), "-c", str(folder / "latin1.yaml")): "world config",
        ("experiment", str(folder / "grid.yaml"), "-o", str(folder / "e")): "not valid UTF-8 YAML",
        ("run", str(folder / "latin1.yaml")): "not valid UTF-8 YAML",
        ("mix", str(folder), "--spec", str(folder / "spec.yaml"), "--plan"): "not UTF-8",
    }
    for argv, expected in cases.items():
        with pytest.raises(SystemExit) as done:
            main(list(argv))
        err = capsys.readouterr().err.strip()
        assert done.value.code == 2 and "\n" not in err and expected in err, (argv, err)
    assert not (folder / "w").exists() and not (folder / "e").exists()
