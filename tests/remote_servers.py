"""Real servers the remote-input tests start for themselves, on 127.0.0.1 only:

- `RangeServer`: Python's http.server serving a folder, with a handler written here that honours `Range:
  bytes=N-` and `bytes=N-M` (206 with Content-Range) and HEAD, and that can drop the connection on purpose
  after sending part of a response (`drop_after`) or stall there (`stall_after`), to test retries and
  resumption; refuse HEAD (`no_head`, `head_status`) and redirect (`redirects`), as real servers do. It runs in
  a thread of the test process and records every request it answered, with the credentials it was sent.
- `MotoS3`: moto's standalone S3-compatible server as a subprocess (`python -m moto.server`), stopped by its
  pid; `env` holds the variables a client needs to reach it (endpoint and throw-away test credentials).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow.fs as pafs

LOOPBACK = "127.0.0.1"
_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")
STALL_S = 30.0  # the longest a stalled response waits for its client to hang up


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass
class Request:
    method: str
    path: str
    range: str | None
    status: int
    sent: int  # body bytes sent
    authorization: str | None = None  # the request's Authorization header


@dataclass
class RangeServer:
    """An HTTP server for `root` on 127.0.0.1 (see the module docstring)."""

    root: Path
    requests: list[Request] = field(default_factory=list)
    # file name -> byte counts: the next GETs of that file send this many body bytes, then drop the connection
    drop_after: dict[str, list[int]] = field(default_factory=dict)
    # file name -> an HTTP error status every request for it gets (a server that stays down for that file)
    failing: dict[str, int] = field(default_factory=dict)
    # file names answered without Content-Length or Content-Range (the body runs to the connection's close)
    sizeless: set[str] = field(default_factory=set)
    # file names whose HEAD is refused (405), as some servers and signed URLs do
    no_head: set[str] = field(default_factory=set)
    # file name -> the status its HEAD gets instead (403: an S3 URL presigned for GET, whose signature names it)
    head_status: dict[str, int] = field(default_factory=dict)
    # file name -> byte counts: the next GETs of that file send this many body bytes, then nothing more until
    # the client hangs up (a server that stalls mid-response; the connection stays open)
    stall_after: dict[str, list[int]] = field(default_factory=dict)
    # file name -> the URL every request for it is redirected to (302)
    redirects: dict[str, str] = field(default_factory=dict)
    etags: dict[str, str] = field(default_factory=dict)  # file name -> the ETag its answers carry
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{LOOPBACK}:{self._server.server_address[1]}/"

    def start(self) -> RangeServer:
        server = self

        class Handler(SimpleHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, directory=str(server.root), **kwargs)

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def note(self, status: int, sent: int = 0) -> None:
                asked, authorization = self.headers.get("Range"), self.headers.get("Authorization")
                server._note(Request(self.command, self.path, asked, status, sent, authorization))

            def do_HEAD(self) -> None:
                name = Path(self.translate_path(self.path)).name
                refused = server.head_status.get(name, 405 if name in server.no_head else None)
                if refused is not None and name not in server.redirects:
                    self.note(refused)
                    self.send_error(refused)
                    return
                self._answer(head=True)

            def do_GET(self) -> None:
                self._answer(head=False)

            def _answer(self, head: bool) -> None:
                path = Path(self.translate_path(self.path))
                asked = self.headers.get("Range")
                # Every request is noted before its answer goes out: a client may look at the requests as
                # soon as it has the headers.
                if path.name in server.failing:
                    self.note(server.failing[path.name])
                    self.send_error(server.failing[path.name])
                    return
                if path.name in server.redirects:
                    self.note(302)
                    self.send_response(302)
                    self.send_header("Location", server.redirects[path.name])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if path.name in server.sizeless and path.is_file():
                    self.note(200)
                    self.send_response(200)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.close_connection = True
                    if not head:
                        with contextlib.suppress(OSError):
                            self.wfile.write(path.read_bytes())
                    return
                if not path.is_file():
                    self.note(404)
                    self.send_error(404)
                    return
                size = path.stat().st_size
                start, end = 0, size - 1
                status = 200
                if asked and (match := _RANGE.match(asked)):
                    start = int(match.group(1))
                    end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
                    if start >= size:
                        self.note(416)
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                body, drop, stall = b"", None, None
                if head:
                    self.note(status)
                else:
                    drop = server._next_cut(server.drop_after, path.name)
                    stall = server._next_cut(server.stall_after, path.name)
                    with path.open("rb") as data:
                        data.seek(start)
                        body = data.read(end - start + 1)
                    cut = min(c for c in (drop, stall, len(body)) if c is not None)
                    self.note(status, cut)
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Last-Modified", self.date_time_string(int(path.stat().st_mtime)))
                if path.name in server.etags:
                    self.send_header("ETag", server.etags[path.name])
                self.send_header("Content-Length", str(end - start + 1))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
                self.end_headers()
                if head:
                    return
                if stall is not None and stall < len(body):
                    self.wfile.write(body[:stall])
                    self.wfile.flush()
                    self.close_connection = True
                    # Nothing more until the client gives up and closes (recv gives b""), at most STALL_S.
                    with contextlib.suppress(OSError):
                        self.connection.settimeout(STALL_S)
                        self.connection.recv(1)
                    return
                cut = drop is not None and drop < len(body)
                if not cut:
                    self.wfile.write(body)
                    return
                self.wfile.write(body[:drop])
                self.wfile.flush()
                self.close_connection = True
                # An abrupt end: the client sees the response stop short of its Content-Length.
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _note(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_cut(self, cuts: dict[str, list[int]], name: str) -> int | None:
        with self._lock:
            pending = cuts.get(name)
            return pending.pop(0) if pending else None

    def gets(self, name: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == "GET" and r.path.endswith("/" + name)]


@contextlib.contextmanager
def range_server(root: Path) -> Iterator[RangeServer]:
    server = RangeServer(root).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class MotoS3:
    """moto's S3 server, started as a subprocess on a free loopback port."""

    popen: subprocess.Popen[bytes]
    endpoint: str
    folder: Path  # the server's own files (its request recording), removed when it stops

    @property
    def env(self) -> dict[str, str]:
        """What a client (pyarrow, boto3, an executor) needs to reach this server. Test credentials only."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "chronomix-test",
            "AWS_SECRET_ACCESS_KEY": "chronomix-test-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def filesystem(self) -> pafs.S3FileSystem:
        env = self.env
        return pafs.S3FileSystem(
            access_key=env["AWS_ACCESS_KEY_ID"],
            secret_key=env["AWS_SECRET_ACCESS_KEY"],
            region="us-east-1",
            endpoint_override=self.endpoint,
            scheme="http",
            allow_bucket_creation=True,
        )

    def upload(self, folder: Path, bucket: str, prefix: str = "") -> str:
        """Copy every file under `folder` to s3://bucket/prefix...; returns the s3:// URI of the prefix."""
        fs = self.filesystem()
        fs.create_dir(bucket)
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            key = f"{bucket}/{prefix}{file.relative_to(folder).as_posix()}"
            with file.open("rb") as source, fs.open_output_stream(key, compression=None) as target:
                shutil.copyfileobj(source, target)
        return f"s3://{bucket}/{prefix}"

    @contextlib.contextmanager
    def recorded(self) -> Iterator[list[tuple[str, str]]]:
        """(method, path) of every request the server answers inside the block, filled when it ends (moto's
        request recorder)."""
        requests: list[tuple[str, str]] = []
        self._recorder("start-recording")
        try:
            yield requests
        finally:
            self._recorder("stop-recording")
            with urllib.request.urlopen(f"{self.endpoint}/moto-api/recorder/download-recording") as answer:
                lines = answer.read().decode().splitlines()
            self._recorder("reset-recording")
            for line in lines:
                entry = json.loads(line)
                requests.append((entry["method"], urllib.parse.urlsplit(entry["url"]).path))

    def _recorder(self, action: str) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/recorder/{action}", method="POST")
        with urllib.request.urlopen(request) as answer:
            answer.read()

    def stop(self) -> None:
        self.popen.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_moto(timeout: float = 60.0) -> MotoS3:
    """moto's server on 127.0.0.1 (its own session, stopped by pid); returns once it answers."""
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="moto-"))
    popen = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd=folder,
        env={
            **os.environ,
            "MOTO_ALLOW_NONEXISTENT_REGION": "true",
            "MOTO_RECORDER_FILEPATH": str(folder / "recording.jsonl"),
        },
    )
    server = MotoS3(popen, f"http://{LOOPBACK}:{port}", folder)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            server.stop()
            raise RuntimeError(f"moto's server exited with {popen.returncode}")
        try:
            with urllib.request.urlopen(f"{server.endpoint}/moto-api/", timeout=2):
                return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise TimeoutError(f"moto's server did not answer in {timeout:.0f}s")


@contextlib.contextmanager
def moto_s3() -> Iterator[MotoS3]:
    server = start_moto()
    try:
        yield server
    finally:
        server.stop()
