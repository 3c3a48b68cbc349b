"""Which chronomix code wrote a stage's output: a short hash of the source of the stage's module and of every
chronomix module it imports, directly or in turn (read from the import statements, also those inside
functions), with the data files of their packages.

A pipeline's completion marker records it (jobs/runner.py). After an upgrade, a finished stage whose
parameters and inputs are unchanged stays finished, as before, but the run says which stages other code
wrote and how to rebuild them: a rerun kept outputs of code 300 commits older as "up to date", with other
dates for 45 of 303 documents and without a column the current ingest writes, and said nothing.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.resources
from collections.abc import Iterator
from importlib.resources.abc import Traversable

PACKAGES = ("analysis", "corpus", "dating", "dedup", "jobs", "mixers", "trainers", "world")
_DATA_SUFFIXES = (".yaml", ".json", ".txt", ".j2")


def code_version(module: str) -> str:
    """12 hex digits naming the code of `module` (a chronomix module) and every chronomix module it
    imports in turn, with their packages' data files; "" where its source cannot be read."""
    return _code_version(module)


@functools.cache
def _code_version(module: str) -> str:
    closure = imported_closure(module)
    digest = hashlib.sha256()
    # line endings normalised: a checkout with CRLF is the same code
    for name in sorted(closure):
        digest.update(name.encode() + b"\0" + (_source(name) or b"").replace(b"\r\n", b"\n") + b"\0")
    for package in sorted({name.split(".")[0] for name in closure}):
        for relative, data in _data_files(package):
            digest.update(relative.encode() + b"\0" + data.replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()[:12] if _source(module) is not None else ""


def imported_closure(module: str) -> set[str]:
    """`module` and every chronomix module it imports, directly or in turn."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_imports(name) - seen)
    return seen


@functools.cache
def _imports(module: str) -> frozenset[str]:
    """The chronomix modules `module`'s import statements name (a package's __init__ counts as the
    package; `from pkg import name` counts `pkg.name` where that is a module)."""
    source = _source(module)
    if source is None:
        return frozenset()
    package = module if _is_package(module) else module.rpartition(".")[0]
    named: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            named.add(base)
            named.update(f"{base}.{alias.name}" for alias in node.names)
    return frozenset(name for name in named if _is_ours(name))


def _is_ours(name: str) -> bool:
    return name.split(".")[0] in PACKAGES and _file(name) is not None


def _is_package(module: str) -> bool:
    file = _file(module)
    return file is not None and file.name == "__init__.py"


@functools.cache
def _file(module: str) -> Traversable | None:
    """The module's source file, found below its top package's folder (or zip, on --py-files) without
    importing anything but that package: `from jobs.x import f` names jobs.x.f, which is no module."""
    top, *rest = module.split(".")
    try:
        root = importlib.resources.files(top)
    except (ImportError, TypeError):
        return None
    for candidate in (
        root.joinpath(*rest, "__init__.py"),
        root.joinpath(*rest[:-1], f"{rest[-1]}.py") if rest else None,
    ):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def _source(module: str) -> bytes | None:
    """The module's source bytes, None where there is none."""
    file = _file(module)
    try:
        return file.read_bytes() if file is not None else None
    except OSError:
        return None


def _data_files(package: str) -> Iterator[tuple[str, bytes]]:
    """(path within the package, bytes) of the package's data files, in a fixed order."""
    try:
        root = importlib.resources.files(package)
    except (ImportError, TypeError):
        return
    todo = [(root, "")]
    while todo:
        folder, prefix = todo.pop()
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.startswith((".", "__pycache__")):
                continue
            if entry.is_dir():
                todo.append((entry, f"{prefix}{entry.name}/"))
            elif entry.name.endswith(_DATA_SUFFIXES):
                yield f"{prefix}{entry.name}", entry.read_bytes()
