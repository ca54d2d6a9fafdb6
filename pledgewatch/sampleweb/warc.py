"""Write pages as a WARC the way a crawler would have recorded them, byte for byte reproducibly.

Each page becomes a ``request`` record and a ``response`` record (the Internet Archive / Common
Crawl shape, readable by any WARC tool), gzip-compressed per record. Record ids are uuid5 of the
snapshot and URL, WARC-Date is the snapshot's fixed time and zlib writes no gzip timestamp, so the
same content always gives the same bytes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pledgewatch.sampleweb.site import Page

USER_AGENT = "pledgewatch-sampleweb/1.0 (+https://github.com/pledgewatch/pledgewatch; offline replica)"
_NAMESPACE = uuid.UUID("6f1c1f5e-3b7e-4c55-9a0e-5e0c1d2b7a10")


def record_id(snapshot: str, kind: str, url: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(_NAMESPACE, f'{snapshot}|{kind}|{url}')}>"


def _warc_date(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def http_response_headers(page: Page, fetched: datetime) -> list[tuple[str, str]]:
    headers = [
        ("Server", page.server),
        ("Date", format_datetime(fetched.astimezone(UTC), usegmt=True)),
        ("Content-Type", page.content_type),
        ("Content-Length", str(len(page.body))),
        ("Connection", "close"),
    ]
    if page.validators:
        if page.last_modified is not None:
            headers.append(
                ("Last-Modified", format_datetime(page.last_modified.astimezone(UTC), usegmt=True))
            )
        headers.append(("ETag", page.etag))
    headers.append(("Cache-Control", "max-age=600" if page.kind != "article" else "max-age=3600"))
    return headers


def write_warc(path: Path, pages: list[Page], snapshot: str, snapshot_time: datetime) -> None:
    """Write ``pages`` in order; each fetch is one second after the previous (stable Date headers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True, warc_version="1.1")
        info = writer.create_warcinfo_record(
            path.name,
            {
                "software": "pledgewatch.sampleweb.build (warcio)",
                "format": "WARC File Format 1.1",
                "description": f"pledgewatch sample web, snapshot {snapshot!r}: an offline replica of "
                "jdcorporateblog.com, www.chinadaily.com.cn and en.people.cn for tests and demos",
                "isPartOf": f"pledgewatch-sampleweb-{snapshot}",
                "http-header-user-agent": USER_AGENT,
                "robots": "obey",
            },
        )
        info.rec_headers.replace_header("WARC-Record-ID", record_id(snapshot, "warcinfo", path.name))
        info.rec_headers.replace_header("WARC-Date", _warc_date(snapshot_time))
        writer.write_record(info)
        for index, page in enumerate(pages):
            fetched = snapshot_time + timedelta(seconds=index)
            split = urlsplit(page.url)
            target = split.path + ("?" + split.query if split.query else "")
            response_id = record_id(snapshot, "response", page.url)
            request = writer.create_warc_record(
                page.url,
                "request",
                warc_headers_dict={
                    "WARC-Record-ID": record_id(snapshot, "request", page.url),
                    "WARC-Date": _warc_date(fetched),
                    "WARC-Concurrent-To": response_id,
                },
                http_headers=StatusAndHeaders(
                    f"GET {target or '/'} HTTP/1.1",
                    [
                        ("Host", split.netloc),
                        ("User-Agent", USER_AGENT),
                        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                        ("Accept-Encoding", "identity"),
                    ],
                    is_http_request=True,
                ),
            )
            response = writer.create_warc_record(
                page.url,
                "response",
                payload=BytesIO(page.body),
                length=len(page.body),
                warc_headers_dict={
                    "WARC-Record-ID": response_id,
                    "WARC-Date": _warc_date(fetched),
                    "WARC-Warcinfo-ID": record_id(snapshot, "warcinfo", path.name),
                },
                http_headers=StatusAndHeaders(
                    "200 OK", http_response_headers(page, fetched), protocol="HTTP/1.1"
                ),
            )
            writer.write_record(request)
            writer.write_record(response)
