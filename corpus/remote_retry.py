"""How a remote read (corpus.remote) fails and is retried: the RetryPolicy (tries, back-off, timeout), which
failures are worth another try (`transient`), and InputReadError, the failure that ends a file's reading.

Apart from corpus.remote so that its channels (corpus.remote_http) can raise and judge failures the same way
without importing the file that streams through them."""

from __future__ import annotations

import http.client
import math
import random
import socket
import urllib.error
from dataclasses import dataclass

_TRANSIENT_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})
_PERMANENT_STORE_ERRORS = ("ACCESS_DENIED", "NO_SUCH", "NoSuchKey", "NoSuchBucket", "InvalidAccessKeyId")
_PERMANENT_STORE_ERRORS += ("SignatureDoesNotMatch", "Forbidden", "Path does not exist", "Unable to load")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a remote read is retried. Times in seconds, finite: an infinite timeout
    made every socket call fail ("OverflowError: timestamp out of range"), an infinite wait every sleep."""

    attempts: int = 6  # tries per block, the first included
    first_wait_s: float = 0.5  # wait before the second try; doubles each try after
    max_wait_s: float = 30.0
    timeout_s: float = 60.0  # HTTP connect and read timeout

    def __post_init__(self) -> None:
        if not isinstance(self.attempts, int) or self.attempts < 1:
            raise ValueError(f"retry attempts: must be a positive integer, got {self.attempts!r}")
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ValueError(
                f"retry timeout: must be a finite number of seconds above 0, got {self.timeout_s!r}"
            )
        for name, wait in (("first wait", self.first_wait_s), ("longest wait", self.max_wait_s)):
            if not (math.isfinite(wait) and wait >= 0):
                raise ValueError(f"retry {name}: must be a finite number of seconds, 0 or more, got {wait!r}")

    def wait_s(self, attempt: int) -> float:
        """Seconds to wait after failed try number `attempt` (1-based): exponential, with jitter."""
        base = min(self.max_wait_s, self.first_wait_s * 2 ** (attempt - 1))
        return base * (0.5 + random.random() / 2)


class InputReadError(OSError):
    """A remote read that failed for good (its tries ran out, or the error is permanent). `offset` is the
    byte of the file where reading stopped."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def transient(exc: BaseException) -> bool:
    """Whether a failed read is worth another try."""
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code in _TRANSIENT_HTTP
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError | InputReadError):
        return False
    if isinstance(exc, http.client.InvalidURL):  # a port that is no number: no try will mend it
        return False
    if isinstance(exc, urllib.error.URLError | http.client.HTTPException | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, socket.timeout | socket.gaierror):
        return True
    if isinstance(exc, OSError):
        return not any(marker in str(exc) for marker in _PERMANENT_STORE_ERRORS)
    return False
