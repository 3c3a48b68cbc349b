"""Remote inputs: objects on S3 (`s3://`, `s3a://`, `s3n://`), GCS (`gs://`), HDFS (`hdfs://`) and web servers
(`http://`, `https://`) opened as seekable binary files that stream, retry and resume.

`RemoteFile` is what the readers get instead of a local file. It never downloads a whole file: it reads the
object front to back in blocks (an HTTP response streamed from a `Range: bytes=N-` request, or ranged reads
through `pyarrow.fs` on object stores) and keeps the last few MiB, which is all the look-back the decompressor
and the format readers need. A seek far from what it has opens a new ranged read there.

Transient failures (a dropped or reset connection, a response that ends early, a timeout, HTTP 408/429/5xx, a
network error from an object store's client) are retried with exponential back-off and jitter, resuming with a
ranged read at the byte reached, so a connection dropped mid-file costs one reconnect, not the file (a read
that times out part way keeps the bytes it got, as a dropped one does). Each retry is reported through
`on_retry` (the ingest job counts them as `remote_retries`). When the tries of one block run out, or the error
is permanent (not found, access denied), the read raises `InputReadError` with the byte offset reached, and
every later read of that file fails at once: the readers turn it into a reject for the record cut there and a
skipped span for the bytes never read (corpus.decompress).

Credentials come from the usual environment, read by the client libraries themselves: AWS_* variables, a
profile or an instance role for S3 (AWS_ENDPOINT_URL points it at an S3-compatible server),
GOOGLE_APPLICATION_CREDENTIALS for GCS, the Hadoop configuration for HDFS; HTTP_PROXY/HTTPS_PROXY for the web.
Nothing here logs or records them: a location written to a reject or a span passes through `redact`.

The HTTP channel is corpus.remote_http (credentials kept to the URL's own server across redirects, a refused
HEAD answered by a GET); the retry policy and the failures' kinds are corpus.remote_retry.

Written here because neither pyarrow.fs nor fsspec resumes a streamed read after a dropped connection: their
files retry (where they do) a whole request and raise at the first error that outlasts it.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from corpus.remote_http import HttpChannel
from corpus.remote_retry import InputReadError, RetryPolicy, transient

OBJECT_STORE_SCHEMES = frozenset({"s3", "s3a", "s3n", "gs", "gcs", "hdfs", "viewfs"})
HTTP_SCHEMES = frozenset({"http", "https"})
REMOTE_SCHEMES = OBJECT_STORE_SCHEMES | HTTP_SCHEMES
# Hadoop's names for S3 that pyarrow knows as s3://.
_ARROW_SCHEME = {"s3a": "s3", "s3n": "s3", "gcs": "gs"}
# How long pyarrow's GCS client retries a request (seconds): by default 15 minutes, spent in C code where no
# signal reaches Python, so a job that cannot reach the store (no credentials, no network) hung, deaf to
# SIGTERM, for 15 minutes a request.
GCS_RETRY_LIMIT_S = 60

STORE_BLOCK = 8 << 20  # bytes per ranged read on an object store (one GET each)
KEEP_BYTES = 4 << 20  # recent bytes kept for seeks backwards (the decompressor looks back within a member)
SKIP_AHEAD = 4 << 20  # a forward seek up to this far reads through rather than opening a new request


def scheme_of(path: str) -> str | None:
    """The URI scheme of `path` in lower case, or None for a plain path."""
    head, sep, _ = path.partition("://")
    return head.lower() if sep and head.isascii() and head.replace("+", "").isalnum() else None


def is_remote(path: str) -> bool:
    """True for the URIs this module opens (object stores and HTTP)."""
    return scheme_of(path) in REMOTE_SCHEMES


def arrow_uri(uri: str) -> str:
    """`uri` with the scheme pyarrow.fs knows (`s3a://b/k` -> `s3://b/k`)."""
    scheme = scheme_of(uri)
    if scheme in _ARROW_SCHEME:
        return _ARROW_SCHEME[scheme] + uri[len(scheme) :]
    return uri


def store_file_system(uri: str) -> tuple[Any, str]:
    """(pyarrow file system, its path) of an object-store `uri` (s3://, s3a://, gs://, hdfs://), the key taken
    as written: a space, `é`, `?`, `#` or `%` in it is part of the key, as a listing gives it and as Spark's
    Hadoop paths take it (pyarrow's from_uri reads such a URI as percent-encoded, with a query and a
    fragment, and fails or opens another key). Other URIs go to from_uri as they are."""
    import pyarrow.fs as pafs

    scheme = scheme_of(uri)
    if scheme not in OBJECT_STORE_SCHEMES:
        return pafs.FileSystem.from_uri(uri)
    rest = uri[len(scheme) + 3 :]
    authority, _, key = rest.partition("/")
    arrow_scheme = _ARROW_SCHEME.get(scheme, scheme)
    options = f"?retry_limit_seconds={GCS_RETRY_LIMIT_S}" if arrow_scheme == "gs" else ""
    fs, root = pafs.FileSystem.from_uri(f"{arrow_scheme}://{authority}{options}")
    return fs, f"{root.rstrip('/')}/{key}" if root else f"/{key}"


def redact(uri: str) -> str:
    """`uri` safe to log: no user or password, and no query string (a presigned URL's query is a credential).
    An object store's key is kept whole (`?` and `#` are characters of it there)."""
    scheme = scheme_of(uri)
    if scheme is None:
        return uri
    if scheme in OBJECT_STORE_SCHEMES:
        authority, slash, key = uri[len(scheme) + 3 :].partition("/")
        return f"{scheme}://{authority.rsplit('@', 1)[-1]}{slash}{key}"
    try:
        parts = urlsplit(uri)
    except ValueError:  # a malformed URL ("http://[bad/..."): cut by hand, as a logged name only
        authority, slash, rest = uri[len(scheme) + 3 :].partition("/")
        return f"{scheme}://{authority.rsplit('@', 1)[-1]}{slash}{rest.split('?', 1)[0].split('#', 1)[0]}"
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def redact_values(value: Any) -> Any:
    """`value` with every URL in it (a string, or the strings of a list) redacted."""
    if isinstance(value, str):
        return redact(value)
    return [redact_values(v) for v in value] if isinstance(value, list | tuple) else value


def uri_name(path: str) -> str:
    """The path part of a URI without query or fragment (what names the file), or `path` itself."""
    return urlsplit(path).path if scheme_of(path) in HTTP_SCHEMES else path


class _Body(Protocol):
    def read(self, size: int) -> bytes: ...
    def close(self) -> None: ...


class Channel(Protocol):
    """Where a RemoteFile gets its bytes: the object's size, and a stream of it from any offset."""

    block: int

    def size(self) -> int: ...
    def open(self, offset: int) -> _Body: ...


class ArrowChannel:
    """An object on a file system pyarrow.fs opens from a URI (S3, GCS, HDFS), read in ranged blocks."""

    block = STORE_BLOCK

    def __init__(self, uri: str) -> None:
        self.uri = arrow_uri(uri)
        self._file: Any = None

    def _open_file(self) -> Any:
        import pyarrow.fs as pafs

        if self._file is None:
            fs, path = store_file_system(self.uri)
            try:
                # One request (its HEAD gives the size); a second only where it fails, to say why.
                self._file = fs.open_input_file(path)
            except OSError as error:
                try:
                    kind = fs.get_file_info(path).type
                except OSError:
                    raise error from None  # the store's own error, for the retry policy to judge
                if kind == pafs.FileType.NotFound:
                    raise FileNotFoundError("no such object") from None
                if kind == pafs.FileType.Directory:
                    raise IsADirectoryError("a folder, not a file") from None
                raise
        return self._file

    def size(self) -> int:
        return int(self._open_file().size())

    def open(self, offset: int) -> _Body:
        return _RangedBody(self, offset)

    def forget(self) -> None:
        """Drop the open handle (after an error, the next try opens a fresh one)."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        self._file = None


class _RangedBody:
    def __init__(self, channel: ArrowChannel, offset: int) -> None:
        self.channel = channel
        self.offset = offset

    def read(self, size: int) -> bytes:
        try:
            data = self.channel._open_file().read_at(size, self.offset)
        except BaseException:
            self.channel.forget()
            raise
        self.offset += len(data)
        return bytes(data)

    def close(self) -> None:
        pass


def channel_for(uri: str, retry: RetryPolicy) -> Channel:
    """The channel that reads `uri` (an object store or an HTTP URL); ValueError for another scheme."""
    scheme = scheme_of(uri)
    if scheme in HTTP_SCHEMES:
        return HttpChannel(uri, retry.timeout_s)
    if scheme in OBJECT_STORE_SCHEMES:
        return ArrowChannel(uri)
    raise ValueError(f"not a remote URI: {redact(uri)}")


class RemoteFile(io.RawIOBase):
    """A remote object as a seekable, read-only binary file that streams, retries and resumes (see the module
    docstring). `size` is the object's size when already known (else it is asked for, with retries)."""

    def __init__(
        self,
        channel: Channel,
        retry: RetryPolicy = RetryPolicy(),
        on_retry: Callable[[str], None] | None = None,
        size: int | None = None,
    ) -> None:
        super().__init__()
        self._channel = channel
        self._retry = retry
        self._on_retry = on_retry or (lambda detail: None)
        self._blocks: deque[tuple[int, bytes]] = deque()  # (offset, bytes) of the recent blocks
        self._kept = 0
        self._keep = max(KEEP_BYTES, 2 * channel.block)
        self._body: _Body | None = None
        self._body_at = 0  # file offset of the next byte the open body gives
        self._pos = 0
        self._failed: InputReadError | None = None
        self._size = size if size is not None else self._with_retries(channel.size, 0, opening=True)

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        want = self._size - self._pos if size is None or size < 0 else min(size, self._size - self._pos)
        parts: list[bytes] = []
        while want > 0:
            piece = self._kept_at(self._pos, want)
            if piece is None:
                try:
                    self._fetch(self._pos)
                except InputReadError:
                    if parts:
                        break  # a short read: what was had, then the error on the next read
                    raise
                continue
            parts.append(piece)
            self._pos += len(piece)
            want -= len(piece)
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)

    def close(self) -> None:
        self._close_body()
        self._blocks.clear()
        super().close()

    def _kept_at(self, offset: int, size: int) -> bytes | None:
        for start, data in self._blocks:
            if start <= offset < start + len(data):
                return data[offset - start : offset - start + size]
        return None

    def _fetch(self, offset: int) -> None:
        """Read blocks until the one holding `offset` is kept: through the open body when `offset` is a
        little ahead of it, else from a new ranged read at `offset`."""
        if self._failed is not None:
            raise self._failed
        if self._body is None or not self._body_at <= offset <= self._body_at + SKIP_AHEAD:
            self._close_body()
            self._body_at = offset
        while True:
            start = self._body_at
            data = self._with_retries(self._next_block, start)
            self._keep_block(start, data)
            if start + len(data) > offset:
                return

    def _next_block(self) -> bytes:
        if self._body is None:
            self._body = self._channel.open(self._body_at)
        want = min(self._channel.block, self._size - self._body_at)
        data = self._body.read(want)
        if not data:
            raise ConnectionError(f"the stream ended at byte {self._body_at} of {self._size}")
        self._body_at += len(data)
        return data

    def _with_retries(self, read: Callable[[], Any], offset: int, opening: bool = False) -> Any:
        """`read()`, tried again after transient failures; `offset` is where it reads (for the messages)."""
        attempt = 1
        while True:
            try:
                return read()
            except Exception as exc:
                self._close_body()
                if not transient(exc) or attempt >= self._retry.attempts:
                    tries = f" after {attempt} tries" if attempt > 1 else ""
                    self._failed = InputReadError(f"{type(exc).__name__}: {exc}{tries}", offset)
                    if opening and isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
                        raise exc from None  # the caller says missing or unreadable
                    raise self._failed from exc
                self._on_retry(f"{type(exc).__name__}: {exc} at byte {offset}")
                time.sleep(self._retry.wait_s(attempt))
                attempt += 1

    def _keep_block(self, start: int, data: bytes) -> None:
        self._blocks.append((start, data))
        self._kept += len(data)
        while len(self._blocks) > 1 and self._kept - len(self._blocks[0][1]) >= self._keep:
            self._kept -= len(self._blocks.popleft()[1])

    def _close_body(self) -> None:
        if self._body is not None:
            # Closing a broken connection can raise; nothing is lost by ignoring it.
            with contextlib.suppress(Exception):
                self._body.close()
            self._body = None


def open_remote(
    uri: str,
    retry: RetryPolicy = RetryPolicy(),
    on_retry: Callable[[str], None] | None = None,
    size: int | None = None,
) -> RemoteFile:
    """`uri` as a RemoteFile. Raises FileNotFoundError (no such object), PermissionError (access denied) or
    InputReadError (unreachable after retries) when even its size cannot be had."""
    return RemoteFile(channel_for(uri, retry), retry, on_retry, size)
