"""Which listing pages a crawl read completely: the judgement behind stopping pagination early."""

from pledgewatch.crawler.completeness import CompletenessTracker


def _chain(pages: int) -> CompletenessTracker:
    """A listing of ``pages`` pages, each with one archived story and a pager to the next."""
    tracker = CompletenessTracker()
    for n in range(pages):
        here = f"https://example.org/list/{n}"
        tracker.page_parsed(here)
        tracker.article_linked(here, f"https://example.org/story/{n}")
        tracker.article_done(f"https://example.org/story/{n}", archived=True)
        if n + 1 < pages:
            tracker.page_linked(here, f"https://example.org/list/{n + 1}")
    return tracker


def test_a_long_pager_chain_is_judged_whole():
    # 5,000 pages: the pagination of an archive of 100,000+ stories (deeper than Python's
    # recursion limit).
    tracker = _chain(5000)
    assert tracker.is_complete("https://example.org/list/0")
    # One story of page 4,000 failed to store: every page before it is incomplete, later ones not.
    tracker.article_done("https://example.org/story/4000", archived=False)
    assert not tracker.is_complete("https://example.org/list/0")
    assert not tracker.is_complete("https://example.org/list/4000")
    assert tracker.is_complete("https://example.org/list/4001")


def test_unread_or_skipped_pages_and_cycles():
    tracker = _chain(3)
    tracker.page_linked("https://example.org/list/2", "https://example.org/list/0")  # pager points back
    assert tracker.is_complete("https://example.org/list/1")
    tracker.page_linked("https://example.org/list/1", "https://example.org/list/unread")
    assert not tracker.is_complete("https://example.org/list/0")
    assert tracker.is_complete("https://example.org/list/2") is False  # reaches 0, which reaches unread
    tracker = _chain(2)
    tracker.link_skipped("https://example.org/list/1")
    assert not tracker.is_complete("https://example.org/list/0")
