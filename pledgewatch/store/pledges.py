"""Pledges in the archive: linking each detected mention to a known pledge or a new one.

Interface used by the crawl pipeline (issue 5 fills it in): ``record_article_pledges`` runs pledge
detection on one archived article and stores pledges and mentions, returning what it found.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from pledgewatch.store.models import Article, Pledge, PledgeMention


@dataclass(frozen=True)
class MentionOutcome:
    pledge: Pledge
    mention: PledgeMention
    is_new: bool
    is_revision: bool


def record_article_pledges(session: Session, article: Article) -> list[MentionOutcome]:
    """Detect and store the pledges of ``article``. Pledge detection is not wired in yet."""
    return []
