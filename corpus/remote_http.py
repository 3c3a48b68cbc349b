"""The HTTP(S) channel of corpus.remote: an object on a web server, streamed with `Range: bytes=N-` requests
(stdlib urllib: proxies from the environment, redirects followed).

- A read that stalls part way through a block (the socket times out) keeps the bytes it got, as a read whose
  connection drops does, so that the retry resumes at the byte reached: http.client's read(size) drops them.
- user:password in a URL is sent as Basic authentication to the URL's own server (scheme, host and port)
  only: urllib copies every header to wherever a redirect points, and curl and requests drop credentials on
  a redirect to another server. A redirect within the server keeps them.
- A HEAD refused (403 from a URL presigned for GET, whose signature names the method; 405; 501) gives way to a
  GET of the first byte, whose Content-Range gives the size.
"""

from __future__ import annotations

import base64
import http.client
import urllib.error
import urllib.request
from email.message import Message
from typing import IO, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from corpus.remote_retry import InputReadError

HTTP_BLOCK = 1 << 20  # bytes asked of a streamed HTTP response per read
_HEADERS = {"User-Agent": "chronomix", "Accept-Encoding": "identity"}
_HEAD_REFUSED = frozenset({403, 405, 501})  # HEAD refused, where a GET may still be served
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of `url`, the port made explicit: what credentials are bound to."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


class _CredentialsStayHome(urllib.request.HTTPRedirectHandler):
    """urllib's redirects, less the Authorization header where one leaves the server it was sent to."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(new.full_url) != _origin(req.full_url):
            new.remove_header("Authorization")
        return new


def open_url(request: urllib.request.Request, timeout_s: float) -> Any:
    """urllib's urlopen(`request`), but credentials never follow a redirect to another server."""
    return urllib.request.build_opener(_CredentialsStayHome).open(request, timeout=timeout_s)


class HttpChannel:
    """An object on a web server, streamed with `Range: bytes=N-` requests (see the module docstring)."""

    block = HTTP_BLOCK

    def __init__(self, url: str, timeout_s: float) -> None:
        parts = urlsplit(url)
        self.headers = dict(_HEADERS)
        if "@" in parts.netloc:  # user:password in the URL: sent as Basic authentication, never in a message
            userinfo, host = parts.netloc.rsplit("@", 1)
            user, _, password = userinfo.partition(":")
            token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"
            url = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
        self.url = url
        self.timeout_s = timeout_s

    def size(self) -> int:
        request = urllib.request.Request(self.url, method="HEAD", headers=self.headers)
        try:
            with open_url(request, self.timeout_s) as response:
                length = response.headers.get("Content-Length")
                if length is not None and length.isdigit():
                    return int(length)
        except urllib.error.HTTPError as error:
            if error.code not in _HEAD_REFUSED:
                raise _http_error(error) from None
        body = self.open(0, last=0)  # no size, or HEAD refused: the first byte says it
        try:
            return body.total
        finally:
            body.close()

    def open(self, offset: int, last: int | None = None) -> _HttpBody | _EmptyBody:
        """The object from byte `offset` (to byte `last` where given) as a stream."""
        headers = {**self.headers, "Range": f"bytes={offset}-{'' if last is None else last}"}
        request = urllib.request.Request(self.url, headers=headers)
        try:
            response = open_url(request, self.timeout_s)
        except urllib.error.HTTPError as error:
            if error.code == 416:  # asked for the end of the file
                return _EmptyBody(offset)
            raise _http_error(error) from None
        return _HttpBody(response, offset)


def _http_error(error: urllib.error.HTTPError) -> Exception:
    if error.code == 404 or error.code == 410:
        return FileNotFoundError(f"HTTP {error.code} {error.reason}")
    if error.code in (401, 403):
        return PermissionError(f"HTTP {error.code} {error.reason}")
    return error


class _HttpBody:
    def __init__(self, response: Any, offset: int) -> None:
        self.response = response
        self._failed: Exception | None = None  # the error that cut the last read short, raised by the next
        status = response.status
        length = response.headers.get("Content-Length")
        total = None
        if status == 206:
            content_range = response.headers.get("Content-Range", "")
            start, _, whole = content_range.removeprefix("bytes ").partition("/")
            if not start.startswith(f"{offset}-"):
                response.close()
                raise http.client.HTTPException(f"asked for byte {offset}, got range {content_range!r}")
            total = int(whole) if whole.isdigit() else None
        elif status == 200:
            total = int(length) if length and length.isdigit() else None
            self._discard(offset)  # a server that ignores Range sends the whole file
        if total is None:
            response.close()
            # the same answer on every try: no retries (they took 12 s and said nothing new)
            raise InputReadError(
                f"HTTP {status}: the server gives no size (Content-Length or Content-Range)", 0
            )
        self.total = total

    def _discard(self, count: int) -> None:
        while count > 0:
            data = self.response.read(min(count, HTTP_BLOCK))
            if not data:
                raise ConnectionError("connection closed while skipping to the offset")
            count -= len(data)

    def read(self, size: int) -> bytes:
        """Up to `size` bytes, fewer where the stream ends. A read that fails part way returns what it got
        and the next read raises the error, so the retry resumes after the bytes already received."""
        if self._failed is not None:
            raise self._failed
        parts: list[bytes] = []
        got = 0
        while got < size:
            try:
                data = self.response.read1(size - got)  # one socket read: what came before it is kept
            except Exception as error:
                if not parts:
                    raise
                self._failed = error
                break
            if not data:
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    def close(self) -> None:
        self.response.close()


class _EmptyBody:
    def __init__(self, offset: int) -> None:
        self.total = offset

    def read(self, size: int) -> bytes:
        return b""

    def close(self) -> None:
        pass
