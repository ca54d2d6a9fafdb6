"""The shipped sample web: reproducible, complete (no dangling links), and as the manifest says.

Everything is read back from the real WARC files with warcio, as the replaying crawler reads them.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from urllib.parse import urljoin

import pytest
from helpers_sampleweb import Response, feed_links, listing_links, read_warc, sitemap_locs
from lxml import html

from pledgewatch.sampleweb import FIRST_WARC, LATER_WARC, MANIFEST, load_manifest
from pledgewatch.sampleweb.build import FIXTURES_DIR, build
from pledgewatch.spiders.publisher import all_publishers, publisher_for_url

SITES = ("jd", "chinadaily", "people")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build(tmp_path_factory.mktemp("sampleweb"))


@pytest.fixture(scope="module")
def manifest() -> dict:
    return load_manifest()


@pytest.fixture(scope="module")
def warcs() -> dict[str, dict[str, Response]]:
    return {"first": read_warc(FIRST_WARC), "later": read_warc(LATER_WARC)}


def test_rebuild_is_byte_identical_and_matches_the_shipped_files(
    built: dict[str, Path], tmp_path: Path
) -> None:
    again = build(tmp_path)
    for name in ("first", "later", "manifest"):
        assert built[name].read_bytes() == again[name].read_bytes(), f"{name} differs between two builds"
    # The committed files are what the script produces: nobody edited a WARC by hand or forgot to rebuild.
    # (Compared uncompressed: another zlib build may compress the same records differently.)
    assert gzip.decompress(built["first"].read_bytes()) == gzip.decompress(FIRST_WARC.read_bytes())
    assert gzip.decompress(built["later"].read_bytes()) == gzip.decompress(LATER_WARC.read_bytes())
    assert built["manifest"].read_bytes() == MANIFEST.read_bytes()


def test_shipped_files_are_small() -> None:
    total = sum(path.stat().st_size for path in (FIRST_WARC, LATER_WARC, MANIFEST))
    assert total < 2_000_000


def test_every_response_has_its_request_and_the_snapshot_date() -> None:
    from warcio.archiveiterator import ArchiveIterator

    for path, day in ((FIRST_WARC, "2021-06-01"), (LATER_WARC, "2021-06-20")):
        requests: dict[str, str] = {}
        responses: dict[str, str] = {}
        with path.open("rb") as handle:
            for record in ArchiveIterator(handle):
                assert record.rec_headers.get_header("WARC-Date").startswith(day)
                if record.rec_type == "request":
                    requests[record.rec_headers.get_header("WARC-Concurrent-To")] = (
                        record.rec_headers.get_header("WARC-Target-URI")
                    )
                elif record.rec_type == "response":
                    responses[record.rec_headers.get_header("WARC-Record-ID")] = (
                        record.rec_headers.get_header("WARC-Target-URI")
                    )
        assert responses and requests == responses


@pytest.mark.parametrize("snapshot", ["first", "later"])
def test_http_headers_are_realistic(warcs: dict[str, dict[str, Response]], snapshot: str) -> None:
    for response in warcs[snapshot].values():
        assert response.status == 200
        assert int(response.headers["content-length"]) == len(response.body)
        assert response.headers["date"].endswith("GMT")
        assert response.headers["content-type"]
        is_index = (
            response.url.endswith((".xml", "/feed/")) or "index" in response.url or "page" in response.url
        )
        if is_index or response.url in {
            "https://jdcorporateblog.com/",
            "https://www.chinadaily.com.cn/business/",
        }:
            assert response.headers.get("etag") and response.headers.get("last-modified"), response.url


@pytest.mark.parametrize("snapshot", ["first", "later"])
def test_no_dangling_links(manifest: dict, warcs: dict[str, dict[str, Response]], snapshot: str) -> None:
    """Every article and next-page link of every listing, feed and sitemap is in the same WARC."""
    pages = warcs[snapshot]
    state = manifest["snapshots"][snapshot]
    for listing in state["listings"]:
        items, next_page = listing_links(listing["source"], pages[listing["url"]])
        assert items == listing["article_urls"], listing["url"]
        assert next_page == listing["next_page"]
        for url in [*items, *([next_page] if next_page else [])]:
            assert url.startswith("https://") and url in pages, f"{listing['url']} links to missing {url}"
    for feed in state["feeds"]:
        links = feed_links(pages[feed["url"]])
        assert links == feed["article_urls"] and links
        assert all(url in pages for url in links)
    for sitemap in state["sitemaps"]:
        locs = sitemap_locs(pages[sitemap["url"]])
        assert locs == sitemap.get("article_urls", sitemap.get("sitemap_urls"))
        assert all(url in pages for url in locs)
    # Article links anywhere in the furniture (recent posts, related stories...) resolve too.
    for response in pages.values():
        if "html" not in response.content_type:
            continue
        tree = html.fromstring(response.body)
        for href in tree.xpath("//a/@href"):
            url = urljoin(response.url, href).split("#")[0]
            publisher = publisher_for_url(url)
            if publisher and publisher.article_id(url) and "?" not in url:
                assert url in pages, f"{response.url} links to missing article {url}"


def test_pagination_reaches_three_pages_per_site(warcs: dict[str, dict[str, Response]]) -> None:
    pages = warcs["first"]
    for name, publisher in all_publishers().items():
        if name not in SITES:
            continue
        longest = 0
        for start in publisher.listings:
            url: str | None = start
            seen = 0
            while url:
                assert url in pages, url
                seen += 1
                _, url = listing_links(name, pages[url])
            longest = max(longest, seen)
        assert longest >= 3, f"{name}: only {longest} listing pages"


def test_robots_txt_per_host(warcs: dict[str, dict[str, Response]]) -> None:
    for host in ("jdcorporateblog.com", "www.chinadaily.com.cn", "en.people.cn"):
        robots = warcs["first"][f"https://{host}/robots.txt"]
        assert "User-agent: *" in robots.text()
    assert (
        "Sitemap: https://jdcorporateblog.com/wp-sitemap.xml"
        in warcs["first"]["https://jdcorporateblog.com/robots.txt"].text()
    )
    # A crawler that reads sitemaps from robots.txt finds them in the archive, and may fetch every
    # listing, feed and article (nothing the replica serves is disallowed).
    from protego import Protego

    for snapshot, pages in warcs.items():
        for url, response in pages.items():
            if url.endswith("/robots.txt"):
                robots = Protego.parse(response.text())
                assert all(sitemap in pages for sitemap in robots.sitemaps), snapshot
                host = url[: -len("/robots.txt")]
                for other in pages:
                    if other.startswith(host + "/"):
                        assert robots.can_fetch(other, "pledgewatch"), other


def _page_text(response: Response) -> str:
    # lxml honours the meta charset when given bytes, as a browser does.
    return " ".join(html.fromstring(response.body).text_content().split())


def test_manifest_articles_exist_with_status_200_and_their_text(
    manifest: dict, warcs: dict[str, dict[str, Response]]
) -> None:
    counts = {site: 0 for site in SITES}
    for article in manifest["articles"]:
        for snapshot in article["snapshots"]:
            response = warcs[snapshot][article["url"]]
            assert response.status == 200
            # A multi-page article's text runs over all its pages.
            text = " ".join(_page_text(warcs[snapshot][url]) for url in article["page_urls"])
            version = article.get("later", article) if snapshot == "later" else article
            assert " ".join(version["body_start"].split()) in text
            assert " ".join(version["body_end"].split()) in text
            assert version["text"].startswith(version["body_start"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", article["published"])
        for pledge in article["expected_pledges"]:
            assert pledge["sentence"] in article["text"]
        counts[article["source"]] += 1
        publisher = all_publishers()[article["source"]]
        assert publisher.article_id(article["url"]), article["url"]
    assert all(count >= 10 for count in counts.values()), counts


def test_relevance_uses_word_boundaries(manifest: dict) -> None:
    articles = manifest["articles"]
    assert any(a["relevant"] for a in articles) and any(not a["relevant"] for a in articles)
    near_misses = [a for a in articles if re.search(r"\bJDK|\bJDBC", a["text"])]
    assert near_misses and not any(a["relevant"] for a in near_misses)


def test_gbk_page_declares_its_charset_only_in_a_meta_tag(
    manifest: dict, warcs: dict[str, dict[str, Response]]
) -> None:
    (url,) = manifest["special_pages"]["gbk"]
    response = warcs["first"][url]
    assert url.startswith("https://en.people.cn/")
    assert response.headers["content-type"] == "text/html"
    with pytest.raises(UnicodeDecodeError):
        response.body.decode("utf-8")
    decoded = response.body.decode("gbk")
    assert '<meta http-equiv="Content-Type" content="text/html; charset=gbk" />' in decoded
    assert "京东" in decoded
    article = next(a for a in manifest["articles"] if a["url"] == url)
    assert "京东" in article["text"]


def test_malformed_page_is_truncated_but_carries_the_article(
    manifest: dict, warcs: dict[str, dict[str, Response]]
) -> None:
    (url,) = manifest["special_pages"]["malformed"]
    response = warcs["first"][url]
    page = response.text()
    assert url.startswith("https://www.chinadaily.com.cn/")
    assert "</html>" not in page and "</body>" not in page
    assert page.count("<p>") > page.count("</p>")
    article = next(a for a in manifest["articles"] if a["url"] == url)
    assert page.rstrip().endswith(article["body_end"].split()[-1])


def test_later_snapshot_holds_the_edit_and_new_articles(
    manifest: dict, warcs: dict[str, dict[str, Response]]
) -> None:
    (url,) = manifest["special_pages"]["edited_in_later"]
    article = next(a for a in manifest["articles"] if a["url"] == url)
    assert article["later"]["text"] != article["text"]
    first, later = warcs["first"][url], warcs["later"][url]
    assert _page_text(first) != _page_text(later)
    assert " ".join(article["later"]["body_end"].split()) in _page_text(later)
    # The sitemap and the feed tell a crawler the post changed.
    first_map = warcs["first"]["https://jdcorporateblog.com/wp-sitemap-posts-post-1.xml"].text()
    later_map = warcs["later"]["https://jdcorporateblog.com/wp-sitemap-posts-post-1.xml"].text()
    lastmod = re.compile(re.escape(url) + r"</loc><lastmod>([^<]+)<")
    assert lastmod.search(later_map).group(1) > lastmod.search(first_map).group(1)
    assert "dcterms:modified" in warcs["later"]["https://jdcorporateblog.com/feed/"].text()
    new = manifest["snapshots"]["later"]["new_articles"]
    assert len(new) >= 2
    for new_url in new:
        assert new_url in warcs["later"] and new_url not in warcs["first"]
        in_feeds = [f["url"] for f in manifest["snapshots"]["later"]["feeds"] if new_url in f["article_urls"]]
        assert in_feeds and all(new_url in feed_links(warcs["later"][url]) for url in in_feeds)


def test_syndicated_story_has_the_same_body_elsewhere(manifest: dict) -> None:
    by_url = {a["url"]: a for a in manifest["articles"]}
    pairs = manifest["special_pages"]["syndicated"]
    assert pairs
    for pair in pairs:
        original, copy = by_url[pair["original"]], by_url[pair["republished"]]
        assert original["source"] == "chinadaily" and copy["source"] == "people"
        assert original["text"] == copy["text"] and original["title"] != copy["title"]
        assert copy["outlet"] == "China Daily"


def test_seeds_are_all_there(manifest: dict) -> None:
    seeds = manifest["special_pages"]["seeds"]
    assert len(seeds) == 5
    hosts = [seeds[name].split("/")[2] for name in sorted(seeds)]
    assert hosts == [
        "jdcorporateblog.com",
        "www.chinadaily.com.cn",
        "jdcorporateblog.com",
        "en.people.cn",
        "www.chinadaily.com.cn",
    ]


@pytest.mark.parametrize("site", SITES)
def test_publisher_fixtures_are_pages_of_the_sample_web(
    site: str, warcs: dict[str, dict[str, Response]]
) -> None:
    folder = FIXTURES_DIR / site
    for page, expected in (("article.html", "article"), ("listing.html", "listing"), ("feed.xml", "feed")):
        data = json.loads((folder / f"{expected}.expected.json").read_text(encoding="utf-8"))
        assert (folder / page).read_bytes() == warcs["first"][data["url"]].body
    listing = json.loads((folder / "listing.expected.json").read_text(encoding="utf-8"))
    items, next_page = listing_links(site, warcs["first"][listing["url"]])
    assert items == listing["article_urls"] and next_page == listing["next_page"]


def test_each_pledge_is_new_exactly_once_in_publication_order(manifest: dict) -> None:
    """The manifest's new/known labels follow from publication order, so tests can trust them."""
    mentions = []
    for article in manifest["articles"]:
        for pledge in article["expected_pledges"]:
            mentions.append((article["published"], pledge))
        for pledge in article.get("later", {}).get("expected_pledges", []):
            mentions.append((article["later"]["modified"], pledge))
    mentions.sort(key=lambda item: item[0])
    seen: set[str] = set()
    for _, pledge in mentions:
        ref = pledge["pledge_ref"]
        if ref in seen:
            assert pledge["new_or_known"] in {"known", "revision"}, pledge["sentence"]
        else:
            assert pledge["new_or_known"] == "new", pledge["sentence"]
            seen.add(ref)
        assert pledge["kind"] in {"invest", "jobs", "train", "poverty", "donate", "build", "other"}
        assert (pledge["currency"] is None) != (pledge["amount_unit"] is None)
    hubei = [p for _, p in mentions if p["pledge_ref"] == "jd-hubei-6bn-2020"]
    assert [p["new_or_known"] for p in hubei] == ["new", "known"]


@pytest.mark.parametrize("site", SITES)
def test_publisher_fixture_expectations_match_the_manifest(site: str, manifest: dict) -> None:
    folder = FIXTURES_DIR / site
    expected = json.loads((folder / "article.expected.json").read_text(encoding="utf-8"))
    article = next(a for a in manifest["articles"] if a["url"] == expected["url"])
    assert article["source"] == site and article["relations"]["seed"]
    for key in ("title", "authors", "published", "outlet", "body_start", "body_end"):
        assert expected[key] == article[key], key
    feed = json.loads((folder / "feed.expected.json").read_text(encoding="utf-8"))
    assert feed in [
        {"url": f["url"], "article_urls": f["article_urls"]} for f in manifest["snapshots"]["first"]["feeds"]
    ]
