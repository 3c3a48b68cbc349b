"""Where a probe writes its results: a hidden folder inside the output folder (beside it where there is none
yet), whose files are moved into place only once the probe has succeeded. A probe that fails leaves the output folder as it was: an earlier
probe's results are kept, and no folder is left where there was none."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path


@contextlib.contextmanager
def staged_output(output: str | Path, names: Sequence[str]) -> Iterator[Path]:
    """A new hidden folder, inside `output` (beside it where it does not exist), to write the result files
    `names` into. When the block ends
    without an error they replace those of `output`: every one of `names` that this probe did not write is
    removed there too, so that an earlier probe's files never stand beside the new ones, while other files
    (a pipeline's completion marker, a prediction.json written beside the results) are kept. `names[0]` is
    the file that says the results are complete (probe.json): it is removed first and moved in last, so a
    reader never sees it beside a mix of old and new files. On an error the hidden folder, and any parent
    folder made for it, is removed and `output` is untouched. ValueError where `output` is a file."""
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise ValueError(f"output: {output} is a file, not a folder")
    # abspath, not resolve: `-o x/..` or a symlinked folder keeps its own name and place
    absolute = Path(os.path.abspath(output))
    if not absolute.name:
        raise ValueError(f"output: {output} has no name to put a folder beside")
    made = _missing_folders(absolute.parent)
    absolute.parent.mkdir(parents=True, exist_ok=True)
    # An existing output is staged inside itself, so the files move on its own file system (an output that
    # is a mount point or a link to another disk cannot take a rename from its parent's); a new one beside
    # it, to be renamed whole. mkdir, not tempfile.mkdtemp: its 0700 mode would become the output's.
    hidden = f".probe-{os.getpid()}-{secrets.token_hex(4)}"
    staging = absolute / hidden if absolute.is_dir() else absolute.parent / f".{absolute.name}{hidden}"
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in reversed(made):  # deepest first; one left non-empty by someone else is kept
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    try:
        _move_into_place(staging, absolute, names)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # anything else written there is no result of the probe


def _missing_folders(folder: Path) -> list[Path]:
    """The folders, outermost first, that `folder.mkdir(parents=True)` would make."""
    missing: list[Path] = []
    while not folder.exists() and folder != folder.parent:
        missing.insert(0, folder)
        folder = folder.parent
    return missing


def _move_into_place(staging: Path, output: Path, names: Sequence[str]) -> None:
    if not output.exists():
        staging.rename(output)  # the whole folder at once
        return
    first, *rest = names
    (output / first).unlink(missing_ok=True)
    for name in rest:
        if (staging / name).exists():
            os.replace(staging / name, output / name)
        else:
            (output / name).unlink(missing_ok=True)
    if (staging / first).exists():
        os.replace(staging / first, output / first)
