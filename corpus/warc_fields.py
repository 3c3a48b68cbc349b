"""Values of WARC and HTTP header fields as the WARC reader (corpus.warc) takes them."""

from __future__ import annotations

import re
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


# A zone name at the end of an HTTP date; HTTP dates are GMT, and the email parser knows GMT, UT, UTC, Z and
# the US zones. Any other name (BRT, JST, CEST, IST) it reads as no zone at all.
_ZONE_NAME = re.compile(r"\s([A-Za-z]{1,6})\s*$")


def parse_http_date(value: str | None) -> datetime | None:
    """An RFC 7231 HTTP date (IMF-fixdate, RFC 850 or asctime) as UTC, or None if it does not parse or names
    a time zone the parser does not know: such a local time sits up to 14 hours either side of UTC, and read
    as UTC it put an upper bound hours before the time it stands for (`Thu, 20 Apr 2023 10:00:00 BRT`)."""
    if not value:
        return None
    value = value.strip()
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None and _ZONE_NAME.search(value):  # no name: asctime, or -0000 (both UTC)
        return None
    return utc(parsed)


def warcinfo_dump(payload: bytes) -> str | None:
    """The `isPartOf` field of a warcinfo record's application/warc-fields payload."""
    for line in payload.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "ispartof" and value.strip():
            return value.strip()
    return None
