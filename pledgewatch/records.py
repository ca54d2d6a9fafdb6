"""What flows from the spiders into the pipeline: one extracted article."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class ArticleRecord:
    """An article as extracted from one fetched page, before the store decides what it is.

    Times are timezone-aware (publishers print Beijing time; the store keeps UTC).
    """

    url: str
    source: str
    title: str
    text: str
    authors: list[str] = field(default_factory=list)
    published: datetime | None = None
    modified: datetime | None = None
    # The outlet as printed when it differs from the publisher (syndication): "Xinhua".
    outlet: str | None = None
    language: str | None = None
    # rel=canonical / og:url of the page, if any: another alias of the same article.
    canonical_hint: str | None = None
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
