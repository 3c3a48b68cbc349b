"""`chronomix package`: what a cluster's executors need to run chronomix, and the spark-submit line.

- `chronomix-<version>.zip`: the project's packages (corpus, analysis, world, dating, dedup, mixers,
  trainers, jobs) with their data files, for `--py-files`. Built deterministically (sorted entries, fixed timestamps): the same sources
  give the same bytes, so a cluster's cache of it is never stale for the wrong reason.
- optionally a wheel (`--wheel`, via `pip wheel --no-deps`), for clusters that install packages instead.
- optionally a packed virtual environment (`--venv`, with `venv-pack` when it is installed) for `--archives`:
  the third-party dependencies (pyarrow, fastwarc, resiliparse, fastText, ...) are compiled extensions that a
  `--py-files` zip cannot carry. Without venv-pack the printed recipe says how to build one.
- `chronomix_main.py`: the spark-submit entry script (`jobs/submit/chronomix_main.py`), copied beside the zip.
"""

from __future__ import annotations

import importlib.util
import shlex
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from jobs.contract import UsageError
from jobs.options import spark_options

# The project's top-level packages, in the order docs/design.md lists them.
PACKAGES = ("corpus", "analysis", "world", "dating", "dedup", "mixers", "trainers", "jobs")
# Files inside the packages that executors need besides Python sources (presets, specs, word lists, the
# report's template).
DATA_SUFFIXES = (".py", ".yaml", ".yml", ".json", ".txt", ".j2")
# A fixed timestamp for zip entries (zip cannot store dates before 1980): reproducible archives.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
ENTRY_SCRIPT = "chronomix_main.py"
VENV_ARCHIVE = "chronomix-venv.tar.gz"
VENV_ALIAS = "environment"


@dataclass(frozen=True)
class Bundle:
    """What `build_bundle` wrote: paths of the zip, the entry script, and the optional wheel and venv."""

    zip: Path
    entry: Path
    wheel: Path | None = None
    venv: Path | None = None


def project_version() -> str:
    """The installed distribution's version, or "0" when the sources run uninstalled."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chronomix")
    except PackageNotFoundError:
        return "0"


def package_dirs() -> dict[str, Path]:
    """Where each of the project's packages lives (found by import, so it works installed or from source)."""
    found: dict[str, Path] = {}
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        found[name] = Path(next(iter(spec.submodule_search_locations)))
    if "jobs" not in found:
        raise RuntimeError("the jobs package is not importable; install chronomix first")
    return found


def build_zip(output: Path) -> Path:
    """Write `chronomix-<version>.zip` into `output` (a folder); returns its path. Deterministic bytes."""
    output.mkdir(parents=True, exist_ok=True)
    target = output / f"chronomix-{project_version()}.zip"
    entries: list[tuple[str, Path]] = []
    for name, folder in package_dirs().items():
        entries += [(f"{name}/{relative}", folder / relative) for relative in shipped_files(folder)]
    tmp = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for arcname, file in sorted(entries):
            info = zipfile.ZipInfo(arcname, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, file.read_bytes())
    tmp.replace(target)
    return target


def shipped_files(folder: Path) -> list[str]:
    """The files of a package `folder` (posix paths within it) that executors need: sources and data files
    (DATA_SUFFIXES), less hidden ones, links and caches, and, in a git checkout, less what git ignores. A
    checkout's `jobs/.env.txt`, a git-ignored `trainers/.hf_credentials.json` and a link to a file outside
    were all shipped to every executor."""
    found = []
    for file in folder.rglob("*"):
        relative = file.relative_to(folder)
        hidden = any(part.startswith(".") or part == "__pycache__" for part in relative.parts)
        if hidden or file.is_symlink() or not file.is_file() or file.suffix not in DATA_SUFFIXES:
            continue
        found.append(relative.as_posix())
    kept = _not_ignored_by_git(folder)
    return sorted(f for f in found if kept is None or f in kept)


def _not_ignored_by_git(folder: Path) -> set[str] | None:
    """The files below `folder` that git tracks or would (not ignored), relative to it; None where `folder`
    is in no git checkout (an installed package) or git is absent."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(folder), "ls-files", "-z", "--cached", "--others", "--exclude-standard", "."],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {name for name in listed.decode("utf-8", "surrogateescape").split("\0") if name}


def project_root() -> Path:
    """The checkout the wheel is built from; RuntimeError where the package runs from an install."""
    root = package_dirs()["jobs"].parent
    if not (root / "pyproject.toml").is_file():
        raise RuntimeError(
            f"no pyproject.toml above the jobs package ({root}); build the wheel from a checkout"
        )
    return root


def build_wheel(output: Path) -> Path:
    """`pip wheel --no-deps` of the project into `output`; returns the wheel. Needs the project's sources."""
    root = project_root()
    output.mkdir(parents=True, exist_ok=True)
    before = set(output.glob("chronomix-*.whl"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(output),
            str(root),
        ],
        check=True,
    )
    wheels = sorted(set(output.glob("chronomix-*.whl")) - before) or sorted(output.glob("chronomix-*.whl"))
    return wheels[-1]


def venv_pack_available() -> bool:
    return importlib.util.find_spec("venv_pack") is not None


def pack_venv(output: Path) -> Path:
    """Pack the running virtual environment with venv-pack into `output/chronomix-venv.tar.gz`."""
    import venv_pack  # type: ignore[import-not-found]

    target = output / VENV_ARCHIVE
    venv_pack.pack(output=str(target), force=True)
    return target


def build_bundle(output: Path, wheel: bool = False, venv: bool = False) -> Bundle:
    """Zip (always), entry script (always), wheel and packed venv (on request) under `output`. What cannot
    be built is refused before anything is written."""
    if wheel:
        project_root()
    if venv and not venv_pack_available():
        raise RuntimeError(
            "--venv needs venv-pack (pip install venv-pack); see docs/cluster.md for the recipe"
        )
    zip_path = build_zip(output)
    entry = output / ENTRY_SCRIPT
    shutil.copyfile(Path(__file__).parent / "submit" / ENTRY_SCRIPT, entry)
    wheel_path = build_wheel(output) if wheel else None
    venv_path = None
    if venv:
        venv_path = pack_venv(output)
    return Bundle(zip=zip_path, entry=entry, wheel=wheel_path, venv=venv_path)


def submit_command(
    bundle: Bundle, master: str, job_args: list[str], deploy_mode: str = "client"
) -> list[str]:
    """The spark-submit command line that runs `chronomix JOB_ARGS` on `master` with `bundle`."""
    argv = ["spark-submit", "--master", master, "--deploy-mode", deploy_mode, "--py-files", str(bundle.zip)]
    if bundle.venv is not None:
        argv += [
            "--archives",
            f"{bundle.venv}#{VENV_ALIAS}",
            "--conf",
            f"spark.pyspark.python=./{VENV_ALIAS}/bin/python",
        ]
        if deploy_mode == "client":
            # The driver runs here, where the archive is never unpacked: spark.pyspark.python would name a
            # path it does not have (spark.pyspark.driver.python comes first, then that, then the variables).
            argv += ["--conf", f"spark.pyspark.driver.python={sys.executable}"]
    return [*argv, str(bundle.entry), *job_args]


def package(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write the bundle into.")] = Path(
        "dist/cluster"
    ),
    wheel: Annotated[bool, typer.Option("--wheel", help="Also build a wheel (pip wheel --no-deps).")] = False,
    venv: Annotated[
        bool,
        typer.Option("--venv", help="Also pack this virtual environment for --archives (needs venv-pack)."),
    ] = False,
    master: Annotated[str, typer.Option(help="Master URL to put in the printed spark-submit line.")] = (
        "spark://HOST:7077"
    ),
) -> None:
    """Build what cluster executors need (the project as a zip for --py-files, optionally a wheel and a packed
    venv for --archives) and print the spark-submit line that runs a chronomix job with it.

    See docs/cluster.md for standalone, YARN and Kubernetes recipes."""
    spark_options(master)  # the master check every Spark command makes: a bad one printed a bad line
    if output.exists() and not output.is_dir():
        # worded as every command words it (jobs.fs.file_given_as_folder; not imported: it needs pyarrow)
        raise UsageError(f"--output {str(output)!r} is a file, not a folder", "--output")
    try:
        bundle = build_bundle(output, wheel=wheel, venv=venv)
    except (RuntimeError, subprocess.CalledProcessError) as error:
        raise typer.BadParameter(str(error)) from None
    print(f"zip: {bundle.zip}")
    print(f"entry script: {bundle.entry}")
    if bundle.wheel:
        print(f"wheel: {bundle.wheel}")
    if bundle.venv:
        print(f"venv archive: {bundle.venv}")
    elif not venv_pack_available():
        print(
            "venv archive: not built (venv-pack is not installed); executors need the dependencies "
            "installed, or pack a venv yourself (docs/cluster.md, 'Shipping the dependencies')"
        )
    example = ["ingest", "s3a://bucket/CC-MAIN-2024-22/warc/", "-o", "s3a://bucket/chronomix/ingest"]
    print("spark-submit:")
    print("  " + shlex.join(submit_command(bundle, master, example)))
