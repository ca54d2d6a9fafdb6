"""Articles of the sample web as data: one TOML file per article under ``content/<site>/``.

Keeping the text apart from the page templates means the same article can be rendered by two
outlets (syndication), in two snapshots (a later edit) and into the manifest that tests read as
ground truth, without the three ever disagreeing.

File format (all keys but ``title``, ``published`` and ``body`` are optional)::

    title = "..."
    published = "2020-04-08T10:00:00+08:00"   # Beijing time, always with the offset
    authors = ["Tracy Yang", "Rachel Liu"]
    outlet = "China Daily"                    # the outlet printed on the page (source / byline)
    url = "https://..."                       # else derived from the site and the file name
    seed = "000_87c92a4e2c955b78.txt"          # the seed text the body was copied from
    channels = ["business"]                    # listings (and feeds) the article appears in
    syndicated_from = "<file stem of the original article>"
    special = "gbk" | "malformed"
    pages = 3                                  # printed on 3 pages (-2.html, _2.html)
    body = '''paragraphs separated by blank lines'''
    [figure]  src, caption, after (paragraph number the figure follows)
    [[pledges]]  expected pledges (see docs/sampleweb.md)
    [later]  the edited version in the later snapshot: modified, title, body, [[later.pledges]]
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

CONTENT_DIR = Path(__file__).resolve().parent / "content"
SITES = ("jd", "chinadaily", "people")
HOSTS = {"jd": "jdcorporateblog.com", "chinadaily": "www.chinadaily.com.cn", "people": "en.people.cn"}
DEFAULT_OUTLET = {"jd": "JD Corporate Blog", "chinadaily": "China Daily", "people": "People's Daily Online"}

# The watch-list aliases of JD.com in pledgewatch.example.toml, matched the way
# pledgewatch.pledges.watchlist does (no word character on either side), so "JDK" is not "JD".
JD_ALIASES = ("JD", "JD.com", "Jingdong", "Jingxi", "京东")
_JD_RE = re.compile(
    "|".join(rf"(?<![\w]){re.escape(a)}(?![\w])" for a in JD_ALIASES if a != "京东") + "|京东"
)

PLEDGE_KEYS = (
    "sentence",
    "actor",
    "kind",
    "amount_value",
    "currency",
    "amount_unit",
    "qualifier",
    "region",
    "horizon",
    "start_year",
    "end_year",
    "new_or_known",
    "pledge_ref",
)


class ContentError(ValueError):
    """A content file is inconsistent (bad date, pledge sentence not in the body...)."""


@dataclass
class Version:
    """What one snapshot shows of an article."""

    title: str
    paragraphs: list[str]
    pledges: list[dict[str, Any]]
    modified: datetime | None = None


@dataclass
class Article:
    key: str
    site: str
    url: str
    published: datetime
    authors: list[str]
    outlet: str
    first: Version
    later: Version | None = None
    seed: str | None = None
    channels: list[str] = field(default_factory=list)
    category: str = "News"
    summary: str = ""
    email: str = ""
    figure: dict[str, Any] | None = None
    syndicated_from: str | None = None
    special: str | None = None
    # For the malformed page: the served HTML stops right before this phrase of the body.
    truncate_at: str | None = None
    quote_zh: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # How many pages the article is printed on (its text split evenly, in order).
    pages: int = 1

    @property
    def page_urls(self) -> list[str]:
        """Page 1's URL, then the continuation pages' (``-2.html`` on People's Daily, ``_2.html``)."""
        if self.pages <= 1:
            return [self.url]
        stem, ext = self.url.rsplit(".", 1)
        joiner = "-" if self.site == "people" else "_"
        return [self.url] + [f"{stem}{joiner}{n}.{ext}" for n in range(2, self.pages + 1)]

    def page_paragraphs(self, snapshot: str) -> list[list[str]]:
        """The served paragraphs split over the article's pages (earlier pages get the extra one)."""
        paragraphs = self.served_paragraphs(snapshot)
        count = max(1, min(self.pages, len(paragraphs)))
        size, extra = divmod(len(paragraphs), count)
        out, start = [], 0
        for number in range(count):
            end = start + size + (1 if number < extra else 0)
            out.append(paragraphs[start:end])
            start = end
        return out

    def version(self, snapshot: str) -> Version:
        return self.later if snapshot == "later" and self.later else self.first

    def served_paragraphs(self, snapshot: str) -> list[str]:
        """The body paragraphs as the page carries them (the malformed page is cut short)."""
        paragraphs = self.version(snapshot).paragraphs
        if not self.truncate_at:
            return paragraphs
        out = []
        for paragraph in paragraphs:
            if self.truncate_at in paragraph:
                head = paragraph.split(self.truncate_at, 1)[0].rstrip()
                if head:
                    out.append(head)
                return out
            out.append(paragraph)
        raise ContentError(f"{self.key}: truncate_at phrase not in body")

    @property
    def title(self) -> str:
        return self.first.title

    def lastmod(self, snapshot: str) -> datetime:
        version = self.version(snapshot)
        return version.modified or self.published

    def relevant(self, snapshot: str = "first") -> bool:
        version = self.version(snapshot)
        return bool(_JD_RE.search(version.title + "\n" + "\n".join(version.paragraphs)))


def split_paragraphs(body: str) -> list[str]:
    return [
        " ".join(line.strip() for line in block.splitlines()).strip()
        for block in re.split(r"\n\s*\n", body.strip())
    ]


def chinadaily_url(key: str, published: datetime) -> str:
    """A China Daily article URL: /a/YYYYMM/DD/WS + 24 hex (an ObjectId: time prefix, then hash)."""
    stamp = f"{int(published.timestamp()):08x}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    return f"https://www.chinadaily.com.cn/a/{published:%Y%m}/{published:%d}/WS{stamp}{digest}.html"


def _pledges(raw: list[dict[str, Any]], paragraphs: list[str], where: str) -> list[dict[str, Any]]:
    text = "\n".join(paragraphs)
    out = []
    for pledge in raw:
        unknown = set(pledge) - set(PLEDGE_KEYS) - {"provinces", "note"}
        if unknown:
            raise ContentError(f"{where}: unknown pledge keys {sorted(unknown)}")
        if pledge["sentence"] not in text:
            raise ContentError(f"{where}: pledge sentence not in body: {pledge['sentence'][:60]!r}")
        full = {key: pledge.get(key) for key in PLEDGE_KEYS}
        full.update({k: pledge[k] for k in ("provinces", "note") if k in pledge})
        out.append(full)
    return out


def load_article(path: Path, site: str) -> Article:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    key = path.stem
    where = f"{site}/{path.name}"
    try:
        published = datetime.fromisoformat(data["published"])
    except (KeyError, ValueError) as exc:
        raise ContentError(f"{where}: bad or missing published: {exc}") from None
    if published.utcoffset() is None or published.utcoffset().total_seconds() != 8 * 3600:
        raise ContentError(f"{where}: published must carry +08:00 (Beijing time)")
    paragraphs = split_paragraphs(data["body"])
    if "url" in data:
        url = data["url"]
    elif site == "jd":
        url = f"https://jdcorporateblog.com/{key}/"
    elif site == "chinadaily":
        url = chinadaily_url(key, published)
    else:
        raise ContentError(f"{where}: people articles need an explicit url")
    first = Version(data["title"], paragraphs, _pledges(data.get("pledges", []), paragraphs, where))
    later = None
    if "later" in data:
        raw = data["later"]
        later_paragraphs = split_paragraphs(raw["body"])
        later = Version(
            raw.get("title", data["title"]),
            later_paragraphs,
            _pledges(raw.get("pledges", []), later_paragraphs, where + " [later]"),
            datetime.fromisoformat(raw["modified"]),
        )
    known = {
        "title",
        "published",
        "authors",
        "outlet",
        "url",
        "seed",
        "channels",
        "category",
        "summary",
        "email",
        "figure",
        "syndicated_from",
        "special",
        "truncate_at",
        "quote_zh",
        "pages",
        "body",
        "pledges",
        "later",
        "extra",
    }
    unknown = set(data) - known
    if unknown:
        raise ContentError(f"{where}: unknown keys {sorted(unknown)}")
    return Article(
        key=key,
        site=site,
        url=url,
        published=published,
        authors=list(data.get("authors", [])),
        outlet=data.get("outlet", DEFAULT_OUTLET[site]),
        first=first,
        later=later,
        seed=data.get("seed"),
        channels=list(data.get("channels", [])),
        category=data.get("category", "News"),
        summary=data.get("summary") or first_sentence(paragraphs[0]),
        email=data.get("email", ""),
        figure=data.get("figure"),
        syndicated_from=data.get("syndicated_from"),
        special=data.get("special"),
        truncate_at=data.get("truncate_at"),
        quote_zh=data.get("quote_zh", ""),
        extra=data.get("extra", {}),
        pages=int(data.get("pages", 1)),
    )


def first_sentence(paragraph: str) -> str:
    match = re.match(r"(.+?[.!?][”\"]?)(\s|$)", paragraph)
    return match.group(1) if match else paragraph


def load_all(content_dir: Path = CONTENT_DIR) -> list[Article]:
    """Every article, sorted by site then publication time (the order pages and the manifest use)."""
    articles = []
    for site in SITES:
        for path in sorted((content_dir / site).glob("*.toml")):
            articles.append(load_article(path, site))
    keys = {a.key for a in articles}
    urls: set[str] = set()
    for article in articles:
        if article.url in urls:
            raise ContentError(f"duplicate URL {article.url}")
        urls.add(article.url)
        if article.syndicated_from and article.syndicated_from not in keys:
            raise ContentError(f"{article.key}: syndicated_from {article.syndicated_from!r} is no article")
    articles.sort(key=lambda a: (SITES.index(a.site), a.published, a.key))
    return articles
