"""Values of WARC and HTTP header fields as the WARC reader (corpus.warc) takes them."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime

from fastwarc.warc import WarcRecord

from corpus.reader_base import utc


def unwrap_uri(value: str | None) -> str | None:
    """WARC-Target-URI without the `<...>` some writers (wget, WARC/1.0 drafts) put around it."""
    if value is None:
        return None
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    return value or None


def record_id(record: WarcRecord) -> str | None:
    """WARC-Record-ID without angle brackets (`urn:uuid:...`), or None."""
    value = record.headers.get("WARC-Record-ID")
    return unwrap_uri(value) if value else None


def parse_http_date(value: str | None) -> datetime | None:
    """An RFC 7231 HTTP date (IMF-fixdate, RFC 850 or asctime) as UTC, or None if it does not parse."""
    if not value:
        return None
    try:
        return utc(parsedate_to_datetime(value.strip()))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def warcinfo_dump(payload: bytes) -> str | None:
    """The `isPartOf` field of a warcinfo record's application/warc-fields payload."""
    for line in payload.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "ispartof" and value.strip():
            return value.strip()
    return None
