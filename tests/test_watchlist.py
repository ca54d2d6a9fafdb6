"""Relevance: watch-list names match on word boundaries only."""

from __future__ import annotations

from datetime import UTC, datetime

from pledgewatch.config import WatchEntity
from pledgewatch.pledges import extract_pledges
from pledgewatch.pledges.watchlist import Watchlist

JD = WatchEntity(name="JD.com", aliases=["JD", "Jingdong", "京东"])
ALIBABA = WatchEntity(name="Alibaba", aliases=["Alibaba Group", "Taobao"])


def test_word_boundaries():
    watch = Watchlist([JD])
    assert watch.match("JD will invest more than RMB 6 billion in Hubei") == ["JD.com"]
    assert watch.match("JD's logistics arm") == ["JD.com"]
    assert watch.match("Beijing-based JD.com said") == ["JD.com"]
    assert watch.match("京东物流") == ["JD.com"]
    assert watch.match("Upgrade to JDK 21 and JDBC drivers") == []
    assert watch.match("a JDJD string", "XJD") == []


def test_several_entities_in_order():
    watch = Watchlist([JD, ALIBABA])
    assert watch.match("Taobao, an e-commerce platform", "Pinduoduo's rival JD.com") == ["JD.com", "Alibaba"]
    assert watch.names == ["JD.com", "Alibaba"]


def test_configured_watchlist_names_pledge_actors():
    """A company added to the watch list is the normalised actor of its pledges."""
    watch = Watchlist([JD, WatchEntity(name="Pinduoduo Inc", aliases=["PDD", "Pinduoduo"])])
    text = "PDD will invest 10 billion yuan in agricultural technology over the next five years."
    pledges = extract_pledges(text, datetime(2021, 8, 20, tzinfo=UTC), resolver=watch.actor_resolver)
    assert [p.actor for p in pledges] == ["Pinduoduo Inc"]


def test_one_alias_matcher_for_relevance_and_actors():
    """The watch list and the pledge actor resolver share one alias rule: exact case for relevance,
    any case but a proper-noun start for actors, never inside an e-mail address or a longer word."""
    from pledgewatch.pledges import AliasMatcher

    exact = AliasMatcher({"JD": "JD.com", "JD Logistics": "JD.com", "京东": "JD.com"}, ignore_case=False)
    assert exact.find("JD Logistics and 京东物流") == [(0, 12, "JD.com"), (17, 19, "JD.com")]
    assert exact.find("jd logistics, JDK") == []
    loose = AliasMatcher({"jd": "JD.com"}, ignore_case=True)
    assert [m[2] for m in loose.find("Jd said; mail liu@jd.com")] == ["JD.com"]
