"""The archive keeps what it is given: UTC times, JSON lists, uniqueness of canonical URLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pledgewatch.store import db
from pledgewatch.store.models import Article, Source

BEIJING = timezone(timedelta(hours=8))


@pytest.fixture
def session(db_url):
    engine = db.make_engine(db_url)
    db.ensure_schema(engine)
    with db.session_factory(engine)() as s:
        yield s
    engine.dispose()


def _article(source: Source, url: str, **kw) -> Article:
    return Article(source=source, canonical_url=url, title="t", text="body", content_hash="h" * 64, **kw)


def test_times_come_back_as_utc(session):
    source = Source(name="jd", title="JD Corporate Blog", domain="jdcorporateblog.com")
    published = datetime(2020, 4, 9, 9, 25, tzinfo=BEIJING)
    session.add(
        _article(source, "https://jdcorporateblog.com/a/", published_at=published, authors=["Tracy Yang"])
    )
    session.commit()
    session.expire_all()
    article = session.scalars(select(Article)).one()
    assert article.published_at == published
    assert article.published_at.tzinfo is not None
    assert article.published_at.utcoffset() == timedelta(0)
    assert article.published_at.hour == 1
    assert article.authors == ["Tracy Yang"]


def test_naive_datetimes_are_refused(session):
    source = Source(name="jd", title="JD", domain="jdcorporateblog.com")
    session.add(_article(source, "https://jdcorporateblog.com/b/", published_at=datetime(2020, 1, 1)))
    with pytest.raises(Exception, match="naive datetime"):
        session.commit()


def test_canonical_url_is_unique(session):
    source = Source(name="jd", title="JD", domain="jdcorporateblog.com")
    session.add(_article(source, "https://jdcorporateblog.com/c/"))
    session.commit()
    session.add(_article(source, "https://jdcorporateblog.com/c/", fetched_at=datetime.now(UTC)))
    with pytest.raises(IntegrityError):
        session.commit()
