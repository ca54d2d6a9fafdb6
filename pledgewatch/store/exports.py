"""Whole-archive dumps for ``pledgewatch demo``: every article and every pledge with its mentions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pledgewatch.store.models import Article, Pledge, PledgeMention
from pledgewatch.store.queries import article_to_dict, isoformat


def all_articles(session: Session) -> list[dict[str, Any]]:
    """Every article in the JSON shape of all listings, oldest publication first."""
    articles = session.scalars(
        select(Article)
        .options(selectinload(Article.urls), selectinload(Article.source))
        .order_by(Article.published_at, Article.id)
    )
    return [article_to_dict(article) for article in articles]


def all_pledges(session: Session) -> list[dict[str, Any]]:
    """Every pledge with its mentions (first report first)."""
    pledges = session.scalars(
        select(Pledge)
        .options(selectinload(Pledge.mentions).selectinload(PledgeMention.article))
        .order_by(Pledge.first_published_at, Pledge.id)
    )
    result = []
    for pledge in pledges:
        result.append(
            {
                "pledge_id": pledge.id,
                "actor": pledge.actor,
                "kind": pledge.kind,
                "amount_value": pledge.amount_value,
                "currency": pledge.currency,
                "amount_unit": pledge.amount_unit,
                "qualifier": pledge.qualifier,
                "region": pledge.region,
                "horizon": pledge.horizon,
                "start_year": pledge.start_year,
                "end_year": pledge.end_year,
                "revision": pledge.revision,
                "first_published": isoformat(pledge.first_published_at),
                "mentions": [
                    {
                        "article_id": mention.article_id,
                        "url": mention.article.canonical_url if mention.article else None,
                        "source": mention.source_name,
                        "sentence": mention.sentence,
                        "is_new": mention.is_new,
                        "is_revision": mention.is_revision,
                        "published": isoformat(mention.published_at),
                    }
                    for mention in pledge.mentions
                ],
            }
        )
    return result
