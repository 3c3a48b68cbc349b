"""Finding the input files of a stage on the driver, before Spark starts: remote URIs (object-store folders and
globs, HTTP URLs) and path listings such as Common Crawl's `warc.paths.gz`.

- An object-store folder (`s3://bucket/prefix/`) lists recursively through pyarrow.fs, as a local one does; a
  glob on an object store (`s3://bucket/crawl/*/warc/*.warc.gz`) lists the folder before its first wildcard
  and keeps the matches (`*` and `?` stay inside one path segment, `**` crosses them).
- An HTTP(S) URL names one file (web servers cannot be listed); its size is asked with a HEAD request, the
  URLs of a command concurrently, and the command says so where a server keeps it waiting.
- A path listing (a file named `*.paths` or `*.paths.gz`: one path per line) names the files to read, each
  joined to `base` (a URL or bucket prefix, e.g. `https://data.commoncrawl.org/` or `s3://commoncrawl/`) unless
  it is a URI already (under an HTTP base, escaped as a URL spells it; a base no reader opens is refused).
  Their sizes are not asked for (a dump lists ~90,000 WARCs): the tasks measure them.
- A folder a job writes (its output, a kept work folder) may not lie inside an input folder or under an input
  glob (`refuse_inside_inputs`): the next read of the inputs would read it as input.

`select` keeps a seeded sample and the first `limit` of any list of files: each file is kept when a hash of the
seed and its name falls below the fraction, so the choice does not depend on the listing's order and a larger
fraction keeps a superset. A file's name is where it lies among its input (`sample_name`): a listing's entry
as listed, a path below a folder or a glob's fixed part, a named file's last part; so the same files are
chosen wherever they are stored and however the place is spelled (Common Crawl's https and s3 bases, a copy).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from urllib.parse import quote, urlsplit

import pyarrow.fs as pafs

from corpus.reader_base import ReadContext, ReadOptions
from corpus.readers import local_path
from corpus.remote import HTTP_SCHEMES, REMOTE_SCHEMES, RetryPolicy, open_remote, redact, scheme_of
from corpus.stats import RejectLog
from jobs import progress
from jobs.contract import UsageError
from jobs.fs import Location, contained_in, locate, location_key, refuse_placeless
from jobs.threads import run_concurrently

LISTING_SUFFIXES = (".paths", ".paths.gz")
UNKNOWN_SIZE = -1  # an input whose size the tasks measure (jobs.stage.BYTES_IN_COUNTER)
# A path listing larger than this is not a listing (warc.paths.gz of a whole dump is ~1 MiB compressed).
MAX_LISTING_BYTES = 256 << 20
CONCURRENT_SIZE_CHECKS = 16
SLOW_NOTICE_S = 2.0  # a size check still waiting after this long is announced
# What a listing entry keeps as it is under an HTTP base: the characters a URL path or query may hold, and
# "%" (an entry already escaped stays so); spaces and non-ASCII letters are escaped.
URL_SAFE = "/%:@!$&'()*+,;=~?"


def is_listing(path: str) -> bool:
    """Whether `path` names a path listing (see the module docstring) rather than data."""
    name = path.split("?", 1)[0].lower()
    return name.endswith(LISTING_SUFFIXES)


def read_listing(path: str, retry: RetryPolicy = RetryPolicy()) -> list[str]:
    """The paths a listing names, in its order (blank lines and `#` comments skipped). Local or remote, plain
    or gzip. Raises UsageError when it cannot be read."""
    try:
        ctx = ReadContext(local_path(path), ReadOptions(retry=retry), RejectLog(), Counter())
        if ctx.stat() > MAX_LISTING_BYTES:
            raise UsageError(
                f"listing {redact(path)!r}: over {MAX_LISTING_BYTES >> 20} MiB; not a path listing"
            )
        with ctx.open() as raw:
            data = raw.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.GzipFile(fileobj=io.BytesIO(data)).read(MAX_LISTING_BYTES + 1)
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise UsageError(f"listing {redact(path)!r}: no such file") from None
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise UsageError(
            f"listing {redact(path)!r}: cannot be read ({type(error).__name__}: {error})"
        ) from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def join_base(entry: str, base: str | None, listing: str) -> str:
    """The URI or path of a listing's `entry`: as it is when it is a URI or an absolute path, else under
    `base`. UsageError when a relative entry has no base."""
    if scheme_of(entry) is not None or entry.startswith("/"):
        return entry
    if base is None:
        raise UsageError(
            f"listing {redact(listing)!r} holds relative paths ({entry!r}): give --base, e.g. "
            "https://data.commoncrawl.org/ or s3://commoncrawl/",
            option="--base",
        )
    if scheme_of(base) in HTTP_SCHEMES:  # a name with spaces or non-ASCII letters, as a URL spells it
        return base.rstrip("/") + "/" + quote(entry.lstrip("/"), safe=URL_SAFE)
    return base.rstrip("/") + "/" + entry.lstrip("/")


def check_base(base: str) -> None:
    """UsageError where `base` names a scheme no reader opens (a typo, ftp://), or is blank or a bucket-less
    s3:/// (jobs.fs.placeless): every entry would fail, or be read from the root of this machine."""
    refuse_placeless(base, "--base")
    scheme = scheme_of(base)
    if scheme is not None and scheme not in REMOTE_SCHEMES and scheme != "file":
        known = ", ".join(f"{s}://" for s in sorted(REMOTE_SCHEMES))
        raise UsageError(
            f"--base {redact(base)!r}: no reader for {scheme}:// (known: {known})", option="--base"
        )


def select(
    uris: Sequence[str],
    sample: float | None,
    seed: int,
    limit: int | None,
    names: Mapping[str, str] | None = None,
) -> list[str]:
    """A seeded sample of `uris` (each kept with probability `sample`, by a hash of the seed and its name in
    `names`, else the URI itself), then its first `limit`, in the given order."""
    kept = list(uris)
    if sample is not None:
        kept = [u for u in kept if _unit_hash(seed, (names or {}).get(u, u)) < sample]
    return kept[:limit] if limit is not None else kept


def _unit_hash(seed: int, name: str) -> float:
    digest = hashlib.blake2b(f"{seed}\x00{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def sample_name(uri: str, given: Sequence[str]) -> str:
    """Where the file `uri` lies among the inputs `given`: its path from the first folder, or glob's fixed
    part, that holds it, that folder's own name first (`dumps/x/y.warc.gz`, so that `a/part-0` and `b/part-0`
    of two inputs differ); where none does (an input names the file itself, an HTTP URL), its folder's name
    and its own."""
    inner = location_key(uri)
    for path in given:
        wildcards = [path.find(ch) for ch in "*?[" if ch in path]
        pattern = wildcards and ("://" in path or not os.path.exists(path))  # as expand_inputs tells them
        outer = location_key((path[: path.rfind("/", 0, min(wildcards)) + 1] or ".") if pattern else path)
        if inner is not None and outer is not None and inner.startswith(outer.rstrip("/") + "/"):
            return outer.rstrip("/").rsplit("/", 1)[-1] + inner[len(outer.rstrip("/")) :]
    return "/".join(uri.split("?", 1)[0].rstrip("/").rsplit("/", 2)[-2:])


def http_size(url: str, retry: RetryPolicy = RetryPolicy()) -> int:
    """The size of the file at `url` in bytes; -1 where it cannot be reached now (the task that reads it tries
    again under the job's retries, and counts it unreadable: one bad file does not stop the job); UsageError
    where there is no such file (HTTP 404 or 410), as for a local path that names nothing."""
    try:
        parts = urlsplit(url)
        if not parts.hostname or parts.port == 0:  # .port raises for a port that is no number or out of range
            raise ValueError("no host" if not parts.hostname else "port 0")
        with open_remote(url, retry) as remote:
            return remote.size
    except FileNotFoundError as error:  # "HTTP 404 Not Found", "HTTP 410 Gone"
        raise UsageError(f"input {redact(url)!r}: no such file ({error})") from None
    except ValueError as error:  # urllib's "Invalid IPv6 URL", a port that is no number, ...
        raise UsageError(f"input {redact(url)!r}: not a valid URL ({error})") from None
    except OSError:
        return -1


def http_sizes(urls: Sequence[str], retry: RetryPolicy = RetryPolicy()) -> dict[str, int]:
    """`http_size` of each of `urls`, asked of their servers CONCURRENT_SIZE_CHECKS at a time; where some
    have not answered after SLOW_NOTICE_S, the command says it is waiting (a server that takes the connection
    and says nothing holds each try for --timeout)."""
    distinct = list(dict.fromkeys(urls))

    def say_waiting(count: int) -> None:
        progress.current().say(
            f"waiting on the servers of {count} HTTP input(s) for their sizes (each try waits at most "
            f"{retry.timeout_s:g} s, {retry.attempts} tries)"
        )

    sizes = run_concurrently(
        lambda url: http_size(url, retry), distinct, CONCURRENT_SIZE_CHECKS, SLOW_NOTICE_S, say_waiting
    )
    return dict(zip(distinct, sizes, strict=True))


def is_http(path: str) -> bool:
    return scheme_of(path) in HTTP_SCHEMES


def remote_glob(pattern: str) -> list[Location]:
    """The files and folders on an object store matching `pattern` (see the module docstring), sorted; a
    folder stands for every file below it, as a local glob's does."""
    wildcard = min(pattern.find(ch) for ch in "*?[" if ch in pattern)
    folder = pattern[: pattern.rfind("/", 0, wildcard) + 1]
    root = locate(folder)
    try:
        infos = root.fs.get_file_info(pafs.FileSelector(root.path, recursive=True, allow_not_found=True))
    except OSError as error:
        raise UsageError(f"input {redact(pattern)!r}: cannot list {redact(folder)!r} ({error})") from None
    matcher = glob_regex(pattern[len(folder) :])
    base = root.path.rstrip("/")
    found = []
    for info in sorted(infos, key=lambda i: i.path):
        relative = info.path[len(base) :].lstrip("/")
        if info.type in (pafs.FileType.File, pafs.FileType.Directory) and matcher.fullmatch(relative):
            found.append(root.child(relative))
    return found


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regular expression for a glob over `/`-separated paths: `*`, `?` and `[...]` within one segment,
    `**` across segments."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[" and (end := pattern.find("]", i + 2)) > 0:
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out))


def refuse_inside_inputs(folder: str, given: Sequence[str], flag: str) -> None:
    """UsageError where `folder` (written by the job: its output, a work folder) lies inside an input folder
    or is reached by an input glob among `given`: reading the inputs again would read it as input."""
    for path in given:
        if is_http(path):
            continue
        if "://" not in path and os.path.isdir(path) and contained_in(path)(folder):
            where = f"the input folder {redact(path)!r}"
        elif any(ch in path for ch in "*?[") and _glob_reaches(path, folder):
            where = f"what the input glob {redact(path)!r} matches"
        elif _is_remote_prefix(path) and contained_in(path)(folder):
            where = f"the input prefix {redact(path)!r}"
        else:
            continue
        raise UsageError(
            f"{flag} {redact(folder)!r} lies inside {where}: reading the inputs again would read it as input; "
            "choose a folder outside it",
            option=flag,
        )


def _is_remote_prefix(path: str) -> bool:
    """Whether `path` is an object-store URI that is no glob: a prefix whose keys below it are its files, by
    name alone (asking the store whether it is a folder would cost a request per input)."""
    return "://" in path and not path.startswith("file:") and not any(ch in path for ch in "*?[")


def _glob_reaches(pattern: str, path: str) -> bool:
    """Whether `path` or a folder above it matches the glob `pattern` (jobs.inputs.glob_regex), by names. A
    trailing "/" (a glob of folders) matches the same folders; a local glob, as Python's, does not match a
    hidden name (".work") unless the pattern names one."""
    pattern = pattern.rstrip("/") or pattern
    wildcard = min(pattern.find(ch) for ch in "*?[" if ch in pattern)
    root = pattern[: pattern.rfind("/", 0, wildcard) + 1]
    inner, outer = location_key(path), location_key(root or ".")
    if inner is None or outer is None or not contained_in(root or ".")(path):
        return False
    relative = inner[len(outer) :].strip("/").split("/")
    rest = pattern[len(root) :]
    if "://" not in pattern and "/." not in "/" + rest:  # Python's glob matches nothing at or below one
        relative = relative[
            : next((n for n, part in enumerate(relative) if part.startswith(".")), len(relative))
        ]
    matcher = glob_regex(rest)
    return any(matcher.fullmatch("/".join(relative[:n])) for n in range(1, len(relative) + 1))
