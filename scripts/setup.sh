#!/usr/bin/env bash
# Set up chronomix on a fresh Debian/Ubuntu machine: Java 17 for Spark (installed with apt where missing), a
# virtual environment in .venv with the project and its extras. A CPU build of torch is pinned first where the
# machine has no NVIDIA GPU, so pip does not pull the multi-GB CUDA build. Idempotent: a rerun only checks.
# Usage: scripts/setup.sh [--test]   (--test also installs what the tests need: chromium for the report test,
# eld for the language-id evaluation; moto's S3 server for the remote-input tests comes with the dev extra)
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  command -v apt-get >/dev/null || { echo "setup: apt-get not found; install $* by hand" >&2; exit 1; }
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

java_major() { java -version 2>&1 | sed -nE 's/.*version "([0-9]+).*/\1/p' | head -1; }
if ! command -v java >/dev/null || [ "$(java_major)" -lt 17 ]; then
  echo "setup: installing Java 17 (Spark needs it)"
  apt_install openjdk-17-jre-headless
fi

if [ "$with_tests" = 1 ] && ! { command -v chromium >/dev/null && command -v chromedriver >/dev/null; }; then
  echo "setup: installing chromium and chromedriver (the audit report's browser test)"
  apt_install chromium chromium-driver
fi

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 needed"'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# --no-compile: pip byte-compiles on one core; compileall does it below on all of them.
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check --no-compile)

if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    "${pip[@]}" 'torch>=2.2'
  elif .venv/bin/python -c 'import urllib.request as u; u.urlopen("https://download.pytorch.org/whl/cpu/", timeout=5)' \
      2>/dev/null; then
    # PyPI's Linux torch wheel is the CUDA build; PyTorch's own CPU index has the CPU one
    "${pip[@]}" torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
  else
    "${pip[@]}" torch==2.13.0  # where PyTorch's index is out of reach, a CPU wheel must be on the local index
  fi
fi
extras=train,dev,fast
# eld: its wheel holds the labelled sentences the language-id tests read (one resolution for all extras)
[ "$with_tests" = 1 ] && extras=$extras,eval
"${pip[@]}" -e ".[$extras]"
# Byte-compiled once here, the packages and the project's own modules load without being compiled again
# in every process (the CLI, Spark's Python workers), even where PYTHONDONTWRITEBYTECODE keeps Python from
# caching them. A file that does not compile (another Python's syntax in some package's tests) is what pip
# also skips.
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
packages=(corpus analysis world dating dedup mixers trainers jobs)
.venv/bin/python -m compileall -q -j 0 "$site" "${packages[@]}" >/dev/null || true
echo "setup: ready (.venv/bin/chronomix)"
