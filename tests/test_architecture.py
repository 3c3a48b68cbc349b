"""The layout is the architecture: the import-linter contracts in pyproject.toml (Spark only in jobs/;
jobs -> trainers -> {world, dating, dedup, mixers} -> analysis -> corpus; no import circle between the modules
of any package) hold for the code as it is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


# Files that are data tables (sentence templates), not code: exempt from the line limit.
DATA_TABLES = {"world/templates.py"}
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 100


def test_files_and_functions_stay_readable_in_one_sitting() -> None:
    """No source file over 500 lines outside tests and data tables, no function over 100 lines."""
    import ast

    too_long: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(("tests/", ".")) or "/." in relative:
            continue
        source = path.read_text()
        lines = source.count("\n")
        if lines > MAX_FILE_LINES and relative not in DATA_TABLES:
            too_long.append(f"{relative}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (
                    node.end_lineno
                    - (node.decorator_list[0].lineno if node.decorator_list else node.lineno)
                    + 1
                )
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{relative}:{node.lineno} {node.name}: {length} lines")
    assert not too_long, too_long
