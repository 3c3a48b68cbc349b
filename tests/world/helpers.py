"""Reading a generated world in tests: every response record of its WARC files, and whether a fact holds
in a month. Shared by conftest.py and the world test modules."""

from __future__ import annotations

from pathlib import Path

from fastwarc.warc import ArchiveIterator, WarcRecordType


def read_records(world_dir: Path) -> dict[str, dict[str, object]]:
    """Every response record of every dump, parsed with fastwarc: id -> headers, HTTP headers, HTML, dump."""
    out: dict[str, dict[str, object]] = {}
    for path in sorted((world_dir / "dumps").glob("*/*.warc.gz")):
        dump = None
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream, parse_http=True):
                if record.record_type == WarcRecordType.warcinfo:
                    fields = record.reader.read().decode()
                    dump = dict(line.split(": ", 1) for line in fields.strip().splitlines())["isPartOf"]
                    continue
                rid = record.headers["WARC-Record-ID"].strip("<>")
                out[rid] = {
                    "warc": dict(record.headers),
                    "http": dict(record.http_headers),
                    "html": record.reader.read().decode("utf-8"),
                    "dump": dump,
                    "dir": path.parent.name,
                    "date": record.record_date,
                }
    return out


def valid_in(fact: dict[str, object], month: str) -> bool:
    return fact["valid_from"] <= month and (fact["valid_until"] is None or month < fact["valid_until"])
