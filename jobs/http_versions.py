"""The version of an HTTP(S) input, as its server gives it, for the runner's fingerprints (jobs.runner): a
stage that read a file from a web server reruns when the server gives a new version of it.

A server names a version by its ETag, else by the file's Last-Modified date and size, answered to one HEAD
(a first-byte GET where HEAD is refused). A server that cannot be reached now keeps the version the last run
recorded: a moment's outage must not rerun a finished stage over its good output and count the file
unreadable. Once a host fails, its other files are not asked (each would wait out the timeout).
"""

from __future__ import annotations

import hashlib
import http.client
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from corpus.remote import HttpChannel

CONCURRENT_CHECKS = 16  # servers asked at once
CHECK_TIMEOUT_S = 10.0
UNREACHABLE = "unreachable"  # the version of a file whose server has not been reached yet
MISSING = "missing"  # the server says there is no such file (HTTP 404 or 410)


def server_version(url: str, timeout_s: float = CHECK_TIMEOUT_S) -> str:
    """What the server says identifies this version of the file at `url`: "etag ...", else "modified ...;
    size ..."; "" where it says neither. Raises FileNotFoundError for 404 and 410, OSError where the server
    cannot be asked."""
    channel = HttpChannel(url, timeout_s)  # user:password in the URL sent as the reads send it
    headers: Any = {}
    for extra, method in (({}, "HEAD"), ({"Range": "bytes=0-0"}, "GET")):
        request = urllib.request.Request(channel.url, method=method, headers={**channel.headers, **extra})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                headers = response.headers
                break
        except urllib.error.HTTPError as error:
            if error.code in (404, 410):
                raise FileNotFoundError(f"HTTP {error.code} {error.reason}") from None
            if error.code not in (405, 501):  # only a refused HEAD is asked again, as a GET
                raise
    if etag := headers.get("ETag"):
        return f"etag {etag}"
    modified, length = headers.get("Last-Modified"), headers.get("Content-Length")
    return f"modified {modified}; size {length}" if modified else ""


def url_key(url: str) -> str:
    """The key of `url` in a marker: a hash, since a URL may carry a credential."""
    return hashlib.sha256(url.encode()).hexdigest()[:24]


def server_versions(urls: Iterable[str], recorded: Mapping[str, str]) -> dict[str, str]:
    """{url_key: version} of `urls` (module doc); `recorded` is the last run's, by the same keys."""
    down: set[str] = set()

    def version(url: str) -> tuple[str, str]:
        key, host = url_key(url), urlsplit(url).netloc
        if host not in down:
            try:
                return key, server_version(url)
            except FileNotFoundError:
                return key, MISSING
            except (OSError, ValueError, http.client.HTTPException):
                down.add(host)
        return key, recorded.get(key, UNREACHABLE)

    with ThreadPoolExecutor(max_workers=CONCURRENT_CHECKS) as pool:
        return dict(pool.map(version, sorted(set(urls))))
