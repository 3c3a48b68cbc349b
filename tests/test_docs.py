"""Every reference to a design document resolves: relative links in the Markdown files, and the documents
(`docs/*.md`, a `DESIGN.md`) that code, docs and configuration name."""

from __future__ import annotations

import ast
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


# A bench's command line: on a line of its own (code blocks), or in a code span, which may wrap in prose
BENCH_LINE = re.compile(r"python (bench/[A-Za-z_]+\.py)([^`\n]*)")
BENCH_SPAN = re.compile(r"`(?:python\s+)?(bench/[A-Za-z_]+\.py)([^`]*)`")
BENCH_NAMED = re.compile(r"\b(bench/[A-Za-z_]+\.(?:py|sh))\b")
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def bench_options(bench: Path) -> set[str]:
    """The options a bench's argparse takes: the string arguments of its add_argument calls."""
    options: set[str] = set()
    for node in ast.walk(ast.parse(bench.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            options |= {
                a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
            }
    return options


def test_bench_commands_in_the_docs_exist_with_the_flags_shown() -> None:
    """Every figure names the command that made it: a bench the docs name must exist, and every option its
    command line shows must be one the bench takes (an option renamed left the docs' command failing)."""
    wrong = []
    for doc in tracked(".md"):
        text = doc.read_text(encoding="utf-8")
        for name in set(BENCH_NAMED.findall(text)):
            if not (ROOT / name).is_file():
                wrong.append(f"{doc.relative_to(ROOT)} names {name}, which does not exist")
        for name, args in {*BENCH_LINE.findall(text), *BENCH_SPAN.findall(text)}:
            if not (ROOT / name).is_file():
                continue
            options = bench_options(ROOT / name)
            for flag in FLAG.findall(args.split("#")[0]):
                if flag not in options:
                    wrong.append(f"{doc.relative_to(ROOT)}: {name} {flag}: the bench takes no {flag}")
    assert not wrong, wrong
