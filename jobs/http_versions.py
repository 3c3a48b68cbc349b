"""The version of an HTTP(S) input, as its server gives it, for the runner's fingerprints (jobs.runner): a
stage that read a file from a web server reruns when the server gives a new version of it.

A server names a version by its ETag, else by the file's Last-Modified date and size, answered to a GET of
the file's first byte: unlike a HEAD, it survives redirects (urllib turns a redirected HEAD into a whole GET),
servers that refuse HEAD, and signed URLs, whose signature names the method. A file the server says is gone
(404, 410) is a change. A server that cannot be reached now keeps the version the last run recorded, as does a
file it refuses or fails to serve (401, 403, 5xx): a moment's outage must not rerun a finished stage over its
good output and count the file unreadable. But a stage that runs records such a file as UNREACHABLE (it
could not read it), so the first run that reaches it reruns the stage. Once a host cannot be reached, its
other files are not asked (each would wait out the timeout). Where some server has not answered within
SLOW_NOTICE_S, the caller is told (the runner says so), so that a silent wait of up to CHECK_TIMEOUT_S does
not pass for a hang.
"""

from __future__ import annotations

import hashlib
import http.client
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from corpus.remote_http import HttpChannel, open_url
from jobs.threads import run_concurrently

CONCURRENT_CHECKS = 16  # servers asked at once
CHECK_TIMEOUT_S = 10.0
SLOW_NOTICE_S = 2.0  # a check still waiting after this long is announced
UNREACHABLE = "unreachable"  # the version of a file whose server has not been reached yet
MISSING = "missing"  # the server says there is no such file (HTTP 404 or 410)


def server_version(url: str, timeout_s: float | None = None) -> str:
    """What the server says identifies this version of the file at `url`: "etag ...", else "modified ...;
    size ..."; "" where it says neither. Raises FileNotFoundError for 404 and 410, HTTPError for another
    refusal, OSError where the server cannot be reached (after `timeout_s`, CHECK_TIMEOUT_S by default)."""
    timeout_s = CHECK_TIMEOUT_S if timeout_s is None else timeout_s
    # user:password in the URL sent as the reads send it, to its server only
    channel = HttpChannel(url, timeout_s)
    request = urllib.request.Request(channel.url, headers={**channel.headers, "Range": "bytes=0-0"})
    try:
        with open_url(request, timeout_s) as response:
            headers = response.headers  # the body (one byte, or all where Range is ignored) is not read
    except urllib.error.HTTPError as error:
        if error.code in (404, 410):
            raise FileNotFoundError(f"HTTP {error.code} {error.reason}") from None
        if error.code != 416:  # 416: an empty file, whose size Content-Range gives
            raise
        headers = error.headers
    if etag := headers.get("ETag"):
        return f"etag {etag}"
    total = (headers.get("Content-Range") or "").rpartition("/")[2]  # "bytes 0-0/SIZE" or "bytes */SIZE"
    size = total if total.isdigit() else headers.get("Content-Length")
    modified = headers.get("Last-Modified")
    return f"modified {modified}; size {size}" if modified else ""


def url_key(url: str) -> str:
    """The key of `url` in a marker: a hash of it without user and password (a hash of a weak password could
    be guessed back; the query is kept: it may tell files apart)."""
    parts = urlsplit(url)
    bare = urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, parts.query, ""))
    return hashlib.sha256(bare.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Versions:
    """The versions of a stage's HTTP files by url_key: as their servers gave them now, or as recorded by
    the last run where a server did not answer (`answered` holds the keys of those that did)."""

    compared: dict[str, str]
    answered: frozenset[str]

    def to_record(self) -> dict[str, str]:
        """What a run that read the files now records: a file whose server did not answer was not read, so
        it stays UNREACHABLE and the first run that reaches it reruns the stage."""
        return {k: v if k in self.answered else UNREACHABLE for k, v in self.compared.items()}


def server_versions(
    urls: Iterable[str], recorded: Mapping[str, str], on_slow: Callable[[int], None] | None = None
) -> Versions:
    """The Versions of `urls` (module doc); `recorded` is the last run's, by url_key. `on_slow(n)` is called
    once where `n` checks are still waiting after SLOW_NOTICE_S seconds."""
    down: set[str] = set()

    def version(url: str) -> tuple[str, str | None]:
        key, host = url_key(url), urlsplit(url).netloc
        if host not in down:
            try:
                return key, server_version(url)
            except FileNotFoundError:
                return key, MISSING
            except urllib.error.HTTPError:
                pass  # this file refused or failed: its host still answers for the others
            except (OSError, ValueError, http.client.HTTPException):
                down.add(host)
        return key, None

    distinct = sorted(set(urls))
    if not distinct:  # most stages read no HTTP file: no threads for them
        return Versions({}, frozenset())
    found = dict(run_concurrently(version, distinct, CONCURRENT_CHECKS, SLOW_NOTICE_S, on_slow))
    compared = {k: v if v is not None else recorded.get(k, UNREACHABLE) for k, v in found.items()}
    return Versions(compared, frozenset(k for k, v in found.items() if v is not None))
