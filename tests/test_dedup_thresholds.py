"""The thresholds at their edges: a pair just above and one just below each, through ``save_article``.

Pairs are built by splicing: the first n words of a seed-derived article followed by words of an
unrelated one, so that the exact Jaccard similarity moves in small steps; n is chosen where the
similarity crosses the threshold. The assertions are about what a user sees (one article or two,
one story or two), not about the similarity arithmetic.
"""

from __future__ import annotations

import pytest
from helpers_dedup import open_session, record, text

from pledgewatch.store import dedup
from pledgewatch.store.archive import save_article


@pytest.fixture
def session(db_url):
    yield from open_session(db_url)


def splice(base: str, filler: str, keep: int, extra: int) -> str:
    a, f = text(base).split(), text(filler).split()
    return " ".join(a[:keep] + f[:extra])


def crossing(base: str, filler: str, threshold: float) -> tuple[str, str]:
    """(just below, just above) ``threshold`` in Jaccard, replacing the tail of base with filler."""
    a_words = text(base).split()
    a = dedup.shingles(text(base))
    below = None
    for keep in range(len(a_words) + 1):
        candidate = splice(base, filler, keep, len(a_words) - keep)
        sim = dedup.similarity(a, dedup.shingles(candidate))
        if sim.jaccard >= threshold:
            assert below is not None
            return below, candidate
        below = candidate
    raise AssertionError("no crossing")


def jaccard(base: str, other: str) -> float:
    return dedup.similarity(dedup.shingles(text(base)), dedup.shingles(other)).jaccard


@pytest.mark.parametrize(("base", "filler"), [("jd_002.txt", "cd_004.txt"), ("cd_001.txt", "people_003.txt")])
def test_story_threshold_edge(session, base, filler):
    below, above = crossing(base, filler, dedup.STORY_JACCARD)
    assert (
        dedup.STORY_JACCARD - 0.01 < jaccard(base, below) < dedup.STORY_JACCARD <= jaccard(base, above) < 0.51
    )
    original = save_article(session, record("chinadaily", text(base), 1), [])
    session.commit()
    # Each side on its own (rolled back after), so the two spliced texts never meet each other.
    just_above = save_article(session, record("people", above, 1), [])
    assert just_above.status == "new"
    assert just_above.article.story_id == original.article.story_id
    session.rollback()
    just_below = save_article(session, record("people", below, 2), [])
    assert just_below.status == "new"
    assert just_below.article.story_id != original.article.story_id


@pytest.mark.parametrize(("base", "filler"), [("jd_002.txt", "cd_004.txt"), ("jd_000.txt", "jd_002.txt")])
def test_duplicate_threshold_edge(session, base, filler):
    below, above = crossing(base, filler, dedup.DUPLICATE_JACCARD)
    assert (
        dedup.DUPLICATE_JACCARD - 0.01
        < jaccard(base, below)
        < dedup.DUPLICATE_JACCARD
        <= jaccard(base, above)
    )
    original = save_article(session, record("jd", text(base), 1), [])
    session.commit()
    # Just above: the same article under another URL.
    just_above = save_article(session, record("jd", above, 2), [])
    assert just_above.status == "duplicate" and just_above.article.id == original.article.id
    session.rollback()
    # Just below: the outlet's own second article on the same story.
    just_below = save_article(session, record("jd", below, 3), [])
    assert just_below.status == "new" and just_below.article.id != original.article.id
    assert just_below.article.story_id == original.article.story_id


def test_containment_threshold_edge(session):
    """A trimmed copy with a little added (J < 0.5) is the same story while >= 80 % of it is the original."""
    base, filler = "jd_002.txt", "cd_004.txt"
    a_words = text(base).split()
    keep = int(len(a_words) * 0.55)
    a = dedup.shingles(text(base))
    below = above = None
    for extra in range(0, 200):
        candidate = splice(base, filler, keep, extra)
        sim = dedup.similarity(a, dedup.shingles(candidate))
        if sim.containment >= dedup.STORY_CONTAINMENT:
            above = (candidate, sim)
        else:
            below = (candidate, sim)
            break
    assert above is not None and below is not None
    assert above[1].jaccard < dedup.STORY_JACCARD and below[1].jaccard < dedup.STORY_JACCARD
    assert below[1].containment > dedup.STORY_CONTAINMENT - 0.01
    original = save_article(session, record("jd", text(base), 1), [])
    session.commit()
    trimmed = save_article(session, record("people", above[0], 1), [])
    assert trimmed.article.story_id == original.article.story_id
    session.rollback()
    padded = save_article(session, record("people", below[0], 2), [])
    assert padded.article.story_id != original.article.story_id
