"""Where the real third-party samples live: ../shared/data beside the checkout (CI always has it), never a
copy inside this repository. Tests that need them skip, with a one-line reason, where the folder is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CHRONOMIX_SHARED_DATA") or ROOT.parent / "shared" / "data")
ABSENT_REASON = f"real samples absent: {SHARED_DATA} (see ../shared/data/README.md; CI has them)"

needs_shared_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=ABSENT_REASON)


def shared_data() -> Path:
    """The shared sample folder, or a skip of the calling test where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(ABSENT_REASON)
    return SHARED_DATA
