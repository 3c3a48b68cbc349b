"""The version of an HTTP(S) input, as its server gives it, for the runner's fingerprints (jobs.runner): a
stage that read a file from a web server reruns when the server gives a new version of it.

A server names a version by its ETag, else by the file's Last-Modified date and size, answered to a GET of
the file's first byte: unlike a HEAD, it survives redirects (urllib turns a redirected HEAD into a whole GET),
servers that refuse HEAD, and signed URLs, whose signature names the method. A file the server says is gone
(404, 410) is a change. A server that cannot be reached now keeps the version the last run recorded, as does a
file it refuses or fails to serve (401, 403, 5xx): a moment's outage must not rerun a finished stage over its
good output and count the file unreadable. Once a host cannot be reached, its other files are not asked (each
would wait out the timeout).
"""

from __future__ import annotations

import hashlib
import http.client
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from corpus.remote import HttpChannel

CONCURRENT_CHECKS = 16  # servers asked at once
CHECK_TIMEOUT_S = 10.0
UNREACHABLE = "unreachable"  # the version of a file whose server has not been reached yet
MISSING = "missing"  # the server says there is no such file (HTTP 404 or 410)


def server_version(url: str, timeout_s: float = CHECK_TIMEOUT_S) -> str:
    """What the server says identifies this version of the file at `url`: "etag ...", else "modified ...;
    size ..."; "" where it says neither. Raises FileNotFoundError for 404 and 410, HTTPError for another
    refusal, OSError where the server cannot be reached."""
    channel = HttpChannel(url, timeout_s)  # user:password in the URL sent as the reads send it
    request = urllib.request.Request(channel.url, headers={**channel.headers, "Range": "bytes=0-0"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
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
            except urllib.error.HTTPError:
                pass  # this file refused or failed: its host still answers for the others
            except (OSError, ValueError, http.client.HTTPException):
                down.add(host)
        return key, recorded.get(key, UNREACHABLE)

    distinct = sorted(set(urls))
    if not distinct:  # most stages read no HTTP file: no threads for them
        return {}
    with ThreadPoolExecutor(max_workers=min(CONCURRENT_CHECKS, len(distinct))) as pool:
        return dict(pool.map(version, distinct))
