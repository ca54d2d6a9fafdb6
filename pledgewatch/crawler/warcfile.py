"""What both readers of WARC files (``import`` and ``crawl --replay``) check about an archive.

warcio stops quietly at the end of what it can read: a ``.warc.gz`` cut short in the middle of a
gzip member, or a ``.warc`` cut inside a record, looks like a shorter, complete archive. An
interrupted download or copy would then import or replay part of an archive as if it were all.
"""

from __future__ import annotations

import zlib
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord

GZIP_MAGIC = b"\x1f\x8b"


def truncation(
    iterator: ArchiveIterator, last: ArcWarcRecord | None, stream: BinaryIO, size: int
) -> str | None:
    """Why the archive just iterated to its end is cut short, or None when it is complete.

    Call after the loop over ``iterator`` has ended; ``last`` is the last record it gave,
    ``stream`` the (seekable) file it read and ``size`` the file's size in bytes.
    """
    end = getattr(iterator, "offset", size)
    if end < size:
        # gzip: bytes after the last whole member that never became a record.
        return f"it is cut short: bytes {end} to {size} are not a complete record"
    remaining = getattr(last.raw_stream, "limit", 0) if last is not None else 0
    if remaining:
        # Uncompressed: the last record is shorter than its Content-Length.
        return f"it is cut short: the last record lacks {remaining} of its bytes"
    stream.seek(0)
    if size >= 4 and stream.read(5) == b"WARC/":
        # Uncompressed WARC: every record ends with two CRLFs. A file cut inside the next
        # record's header ends elsewhere, and warcio drops that header without a word.
        stream.seek(size - 4)
        if stream.read(4) != b"\r\n\r\n":
            return "it is cut short: it does not end where a record ends"
    member = getattr(iterator, "member_info", None)
    if member is not None:
        # gzip: the last member can hold a whole record yet lack its end (and the rest of the file).
        offset, length = member
        stream.seek(offset)
        data = stream.read(length)
        if data.startswith(GZIP_MAGIC):
            decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                decompressor.decompress(data)
            except zlib.error:
                return f"it is damaged: the gzip member at byte {offset} does not decompress"
            if not decompressor.eof:
                return f"it is cut short: the gzip member at byte {offset} has no end"
    return None


class RecordTooLarge(ValueError):
    """A WARC record's payload, once decoded, is over the response size cap."""


def read_payload(record: ArcWarcRecord, max_bytes: int) -> bytes:
    """The record's HTTP payload, decoded (chunked, gzip), refused past ``max_bytes`` (0: no cap).

    warcio decodes ``Content-Encoding: gzip`` while it reads, so a 1.7 KB record can unfold into
    gigabytes; reading at most ``max_bytes + 1`` keeps memory at the cap whatever the record
    says, and applies to imported and replayed records the cap (DOWNLOAD_MAXSIZE,
    ``crawl.max_response_bytes``) that Scrapy applies to a live response.
    """
    stream = record.content_stream()
    if not max_bytes:
        return stream.read()
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(1 << 20, max_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise RecordTooLarge(f"its payload is over the response size cap of {max_bytes} bytes")
    return b"".join(chunks)
