"""Every reference to a design document resolves: relative links in the Markdown files, and the documents
(`docs/*.md`, a `DESIGN.md`) that code, docs and configuration name."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
DOC_PATH = re.compile(r"\b((?:docs/)?[A-Za-z_\-]+\.md)\b")


def tracked(*suffixes: str) -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / n for n in names.splitlines() if n.endswith(suffixes) and (ROOT / n).is_file()]


def test_markdown_links_resolve() -> None:
    broken = []
    for doc in tracked(".md"):
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert not broken, broken


def test_named_documents_exist() -> None:
    missing = []
    for file in tracked(".py", ".md", ".toml", ".yaml", ".j2", ".sh"):
        if file == Path(__file__).resolve():
            continue  # this test names the documents it looks for
        for name in set(DOC_PATH.findall(file.read_text(encoding="utf-8"))):
            named = name.startswith("docs/") or name.upper() == "DESIGN.MD"
            if named and not (ROOT / name).exists():
                missing.append(f"{file.relative_to(ROOT)} names {name}")
    assert not missing, missing
    assert (ROOT / "docs" / "design.md").is_file()
