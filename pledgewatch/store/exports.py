"""Whole-archive dumps for ``pledgewatch demo``: every article and every pledge with its mentions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pledgewatch.store.listing import list_pledges, pledge_to_dict
from pledgewatch.store.models import Article
from pledgewatch.store.queries import article_to_dict


def all_articles(session: Session) -> list[dict[str, Any]]:
    """Every article in the JSON shape of all listings, oldest publication first."""
    articles = session.scalars(
        select(Article)
        .options(selectinload(Article.urls), selectinload(Article.source))
        .order_by(Article.published_at, Article.id)
    )
    return [article_to_dict(article) for article in articles]


def all_pledges(session: Session) -> list[dict[str, Any]]:
    """Every pledge with its mentions (first report first), in the shape of `pledges list --format json`."""
    return [pledge_to_dict(pledge) for pledge in list_pledges(session, include_withdrawn=True)]
