"""HTTP validators (ETag / Last-Modified) per feed, listing or sitemap URL.

They make the next request for the same page conditional, so an unchanged feed costs a 304. A URL
has a row only while its last full read was complete (every article it linked is archived).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pledgewatch.store.models import FetchValidator, utcnow


@dataclass(frozen=True)
class Validators:
    url: str
    etag: str | None
    last_modified: str | None


def get_validators(session: Session, url: str) -> Validators | None:
    row = session.scalars(select(FetchValidator).where(FetchValidator.url == url)).first()
    if row is None:
        return None
    return Validators(url=row.url, etag=row.etag, last_modified=row.last_modified)


def save_validators(session: Session, validators: Iterable[Validators]) -> int:
    """Insert or update the validators of each URL; the caller commits. Returns how many were written.

    A row without ETag or Last-Modified is kept too: it says the page was read completely (see
    :mod:`pledgewatch.crawler.completeness`), and makes no request conditional.
    """
    count = 0
    for item in validators:
        row = session.scalars(select(FetchValidator).where(FetchValidator.url == item.url)).first()
        if row is None:
            row = FetchValidator(url=item.url)
            session.add(row)
        row.etag = item.etag
        row.last_modified = item.last_modified
        row.updated_at = utcnow()
        count += 1
    session.flush()
    return count


def delete_validators(session: Session, urls: Iterable[str]) -> None:
    """Forget the validators of pages that must be read in full next time; the caller commits."""
    wanted = list(urls)
    for start in range(0, len(wanted), 500):
        session.execute(delete(FetchValidator).where(FetchValidator.url.in_(wanted[start : start + 500])))
    session.flush()
