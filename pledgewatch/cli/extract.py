"""`pledgewatch extract FILE --url URL`: what the crawler would store for one saved page.

For checking a publisher's parser against a page saved from a browser (or a WARC) before a crawl,
and for reporting extraction bugs with the page attached.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Annotated

import typer

from pledgewatch.cli.app import SOURCE_NAMES, app
from pledgewatch.errors import UsageError

# Saved pages are small; anything far bigger is not an article page and would only eat memory.
MAX_PAGE_BYTES = 50 * 1024 * 1024


@app.command("extract")
def extract(
    file: Annotated[Path, typer.Argument(help="A saved HTML page.", show_default=False)],
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="The URL the page was fetched from (picks the publisher's parser). "
            "Default: the page's rel=canonical link.",
            show_default=False,
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help=f"Publisher name ({SOURCE_NAMES}). Default: from the URL.",
            show_default=False,
        ),
    ] = None,
    charset: Annotated[
        str | None,
        typer.Option(
            "--charset",
            help="The charset the server sent, if the page was saved without it.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the fields extracted from a saved article page as one JSON object."""
    # Imported here: every other command would pay for lxml/parsel at start-up otherwise.
    from pledgewatch.spiders.parsing import ExtractionError, parser_for
    from pledgewatch.spiders.publisher import get_publisher, publisher_for_url

    try:
        if not file.is_file():
            raise UsageError(f"{file}: no such file" if not file.exists() else f"{file}: not a file")
        if file.stat().st_size > MAX_PAGE_BYTES:
            raise UsageError(f"{file}: larger than {MAX_PAGE_BYTES // (1024 * 1024)} MB, not an article page")
        body = file.read_bytes()
    except OSError as exc:
        raise UsageError(f"{file}: cannot read ({exc.strerror or exc})") from None
    if b"\x00" in body[:4096] and not body.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UsageError(f"{file}: not an HTML page (binary data)")

    if charset is not None:
        try:
            codecs.lookup(charset)
        except LookupError:
            # It was ignored without a word, and the page decoded by its own declaration.
            raise UsageError(f"--charset: unknown character set {charset!r}") from None
    publisher = get_publisher(source) if source else None
    page_url = url or file.resolve().as_uri()
    if publisher is None and url:
        publisher = publisher_for_url(url)
    parser = parser_for(page_url, publisher)(body, page_url, encoding=charset, publisher=publisher)
    if not parser.is_html():
        raise UsageError(f"{file}: not an HTML page")
    if url is None and (canonical := parser.canonical_url()):
        if canonical.startswith("file://") and not canonical.startswith("file:///"):
            # A protocol-relative canonical link (China Daily's "//www.chinadaily.com.cn/...")
            # resolved against the saved file's file:/// URI: the page was served over https.
            canonical = "https:" + canonical[len("file:") :]
        publisher = publisher or publisher_for_url(canonical)
        parser = parser_for(canonical, publisher)(body, canonical, encoding=charset, publisher=publisher)
    try:
        record = parser.record(publisher.name if publisher else None)
    except ExtractionError as exc:
        raise UsageError(f"{file}: {exc}".replace(f"{parser.url}: ", "")) from None
    print(
        json.dumps(
            {
                "url": record.url,
                "source": record.source or None,
                "title": record.title,
                "authors": record.authors,
                "published": record.published.isoformat() if record.published else None,
                "modified": record.modified.isoformat() if record.modified else None,
                "outlet": record.outlet,
                "language": record.language,
                "canonical_url": record.canonical_hint,
                "text": record.text,
            },
            ensure_ascii=False,
            indent=2,
        )
    )
