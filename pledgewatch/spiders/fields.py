"""Field helpers for article pages: decoding, dates, bylines and the furniture that is not body text.

Small pure functions that every publisher's parser and the generic extractor use
(:mod:`pledgewatch.spiders.parsing`); plain functions of text, no Scrapy, no network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from w3lib.encoding import html_to_unicode, http_content_type_encoding

# China's time zone: the three watched publishers declare it (Publisher.timezone), and
# parse_datetime assumes it when called without one (its callers always pass the publisher's).
BEIJING = timezone(timedelta(hours=8))


# --------------------------------------------------------------------------------------------------
# Decoding


def _autodetect(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:65536]).best()
    return best.encoding if best is not None else None


_CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode_html(body: bytes | str, content_type: str | None = None) -> tuple[str, str]:
    """Decode a page the way browsers do: BOM, then HTTP charset, then ``<meta>``, then detection.

    ``content_type`` is the HTTP Content-Type header value (or a bare charset name). A GBK page that
    declares its charset only in ``<meta http-equiv>`` decodes right; so does one with none at all.
    Returns (text, encoding).
    """
    if isinstance(body, str):
        return _CONTROL_CHARS_RE.sub("", body), "utf-8"
    header = content_type
    if header and "=" not in header and "/" not in header:
        header = f"text/html; charset={header}"
    # An HTTP header naming a charset the body cannot be is a server bug: trust <meta>/detection then.
    declared = http_content_type_encoding(header) if header else None
    if declared:
        try:
            body.decode(declared)
        except (UnicodeDecodeError, LookupError):
            header = None
    encoding, text = html_to_unicode(header, body, auto_detect_fun=_autodetect)
    # NUL and other C0 controls are never text, and lxml refuses strings that hold them.
    return _CONTROL_CHARS_RE.sub("", text), encoding


# --------------------------------------------------------------------------------------------------
# Dates


_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$")


# The formats the publishers print (JD "Apr 8, 2020", People's Daily "09:07, April 30, 2020",
# feeds' RFC 822 "Wed, 08 Apr 2020 10:00:00 +0800"), read with strptime before dateparser: its
# first call costs 0.5-0.7 s of CPU (loading its language data), which a crawl that finds nothing
# new would pay for one listing date. Anything else still goes to dateparser.
_KNOWN_FORMATS = (
    "%b %d, %Y",
    "%B %d, %Y",
    "%H:%M, %B %d, %Y",
    "%H:%M, %b %d, %Y",
    "%a, %d %b %Y %H:%M:%S %z",
    "%a, %d %b %Y %H:%M:%S GMT",
    "%a, %d %b %Y %H:%M %z",
    "%Y-%m-%d %H:%M:%S %z",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
)


def _known_format(text: str, tz: tzinfo) -> datetime | None:
    """``text`` in one of :data:`_KNOWN_FORMATS`, as dateparser reads it (a stated offset is
    converted to ``tz``, as dateparser's TIMEZONE setting does), or None."""
    for pattern in _KNOWN_FORMATS:
        try:
            parsed = datetime.strptime(text, pattern)
        except ValueError:
            continue
        if pattern.endswith("GMT"):
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(tz) if parsed.tzinfo is not None else parsed
    return None


def parse_datetime(value: str | None, tz: tzinfo = BEIJING) -> datetime | None:
    """A timezone-aware datetime from what a page prints, or None.

    Strings without an offset are the publisher's local time (``tz``, Beijing by default): "Apr 8,
    2020", "09:07, April 30, 2020", "2020-04-09 09:25", ISO 8601, RFC 822 all work. A date without a
    time means midnight local time.
    """
    if not value:
        return None
    text = " ".join(value.replace("\u00a0", " ").split()).strip(" |,")
    if not text:
        return None
    parsed: datetime | None = None
    if _ISO_RE.match(text):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
    if parsed is None and text[:1].isalnum():
        parsed = _known_format(text, tz)
    if parsed is None:
        import dateparser

        offset = tz.utcoffset(None) or timedelta(0)
        hours, minutes = divmod(int(offset.total_seconds()) // 60, 60)
        settings = {
            "TIMEZONE": f"{'+' if offset >= timedelta(0) else '-'}{abs(hours):02d}{minutes:02d}",
            "RETURN_AS_TIMEZONE_AWARE": True,
            "PREFER_DAY_OF_MONTH": "first",
            "STRICT_PARSING": False,
        }
        try:
            parsed = dateparser.parse(text, languages=["en", "zh"], settings=settings)
        except (ValueError, OverflowError):  # pragma: no cover - dateparser raises on absurd input
            parsed = None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    elif parsed.utcoffset() == tz.utcoffset(None):
        parsed = parsed.astimezone(tz)
    return parsed


# --------------------------------------------------------------------------------------------------
# Authors


_BY_RE = re.compile(r"^\s*(?:[-–—•·]\s*)?(?:written\s+)?by[:\s]+", re.I)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# "By OUYANG SHIJIA/ZHOU LANXU" (China Daily) names two people, like "and" does.
_AUTHOR_SPLIT_RE = re.compile(r"\s*(?:,|;|&|/|\band\b|\|)\s*", re.I)
_NOT_A_NAME = re.compile(
    r"^(?:staff(?: reporter| writer)?s?|reporters?|correspondents?|updated|web editor|editors?|agencies|"
    r"afp|reuters|ap|.*\b(?:daily|edition|news|times|agency|press|online|post|xinhua|media|"
    r"network|blog|bureau|group|inc|ltd)\b.*)$",
    re.I,
)


def _name_case(name: str) -> str:
    """ "FAN FEIFEI" -> "Fan Feifei"; mixed-case names ("Kelly Dawson", "McDonald") stay as printed."""
    if name.isupper() or name.islower():
        return name.title()
    return name


def split_authors(text: str | Iterable[str] | None) -> list[str]:
    """Author names from a byline: "by Tracy Yang and Rachel Liu" -> ["Tracy Yang", "Rachel Liu"].

    Drops the "By", e-mail addresses, a trailing "(People's Daily Overseas Edition)", the "| China
    Daily | Updated: ..." tail, and outlet names that are not people; title-cases ALL-CAPS names.
    """
    if text is None:
        return []
    if not isinstance(text, str):
        names: list[str] = []
        for item in text:
            for name in split_authors(item):
                if name not in names:
                    names.append(name)
        return names
    value = _EMAIL_RE.sub(" ", text)
    value = value.split("|")[0]
    value = re.sub(r"\([^)]*\)", " ", value)
    value = _BY_RE.sub("", " ".join(value.split()))
    # "By Li Jiabao, People's Daily Overseas Edition": the outlet after a comma is not a person.
    names = []
    for part in _AUTHOR_SPLIT_RE.split(value):
        # "MENG JING in Beijing": the dateline place is not part of the name.
        part = re.sub(r"\s+in\s+[A-Z].*$", "", part, flags=re.I).strip(" .:-–—")
        if not part or _NOT_A_NAME.match(part) or re.search(r"\d", part):
            continue
        if len(part.split()) > 5:  # a sentence, not a name
            continue
        name = _name_case(part)
        if name not in names:
            names.append(name)
    return names


# --------------------------------------------------------------------------------------------------
# Body cleaning


# Paragraphs that are page furniture wherever they appear (compare with the seed texts). What only
# one site prints lives in its Publisher declaration (``furniture``). China Daily's footer headings
# stay here: they travel with its copy when other sites republish it.
_FURNITURE = {
    "recent posts",
    "topics",
    "newspapers in english",
    "newspapers from hong kong",
    "related stories",
    "related news",
    "share",
    "share this",
    "share this article",
    "leave a reply",
    "leave a comment",
    "read more",
    "most popular",
    "most viewed",
    "editor's pick",
    "editor's picks",
    "english news",
}
_EMAILS_ONLY_RE = re.compile(r"^[(\[]?\s*(?:[\w.+-]+@[\w-]+(?:\.[\w-]+)+[\s;,/]*)+[)\]]?$")
_TRAILING_EMAIL_RE = re.compile(r"\s*[(\[]?[\w.+-]+@[\w-]+(?:\.[\w-]+)+[)\]]?$")
_WEB_EDITOR_RE = re.compile(r"^\(?\s*web editor\s*:.*\)?$", re.I)
_CAPTION_RE = re.compile(r"\?\?.*\?\?")
_DATE_LINE_RE = re.compile(
    r"^(?:date\s*)?(?:[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4}|\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2})?)\s*\|?$"
)
# "By FAN FEIFEI | China Daily | Updated: 2020-04-09 09:25", "by Tracy Yang and Rachel Liu",
# "- By FAN FEIFEI fanfeifei@chinadaily.com.cn": short lines that only name people.
_BYLINE_RE = re.compile(r"^(?:[-–—•]\s*)?by\s+[A-Z][^.!?]{0,120}$", re.I)
_UPDATED_RE = re.compile(r"\|\s*Updated:", re.I)
# Photo credits: "ZHANG NAN / XINHUA Villagers from ...", "... a warehouse. Wang Zhao / AFP |",
# China Daily's "[Photo/VCG]", "[Photo by Zou Hong/China Daily]".
_CREDIT_START_RE = re.compile(r"^[A-Z][A-Z.'-]+(?: [A-Z][A-Z.'-]+)* / [A-Z][A-Za-z.]+(?: [A-Z][A-Za-z.]+)*\b")
_CREDIT_END_RE = re.compile(
    r"\b[A-Z][\w.'-]+(?: [A-Z][\w.'-]+){0,3} / (?:AFP|XINHUA|Xinhua|REUTERS|Reuters|AP|VCG|IC|"
    r"CHINA DAILY|China Daily|for China Daily)\s*\|?$"
)
_PHOTO_TAG_RE = re.compile(r"\[(?:Photo|Photos|Video)(?:/| by )[^\]]*\]", re.I)
_SHARE_RE = re.compile(r"^(?:share (?:on|to|via)\b|follow us\b|copyright\b|©)", re.I)


def is_noise(paragraph: str, furniture: re.Pattern[str] | None = None) -> bool:
    """True for a paragraph that is furniture, a byline, an e-mail line or a caption, not body text.

    ``furniture`` is the publisher's own furniture (:attr:`Publisher.furniture_re`), matched
    against the whole paragraph.
    """
    text = paragraph.strip().lstrip("•·▪◦*").strip()
    if not text:
        return True
    low = text.lower().rstrip(":")
    if low in _FURNITURE:
        return True
    if furniture is not None and furniture.fullmatch(text):
        return True
    if _EMAILS_ONLY_RE.match(text) or _WEB_EDITOR_RE.match(text) or _CAPTION_RE.search(text):
        return True
    if _DATE_LINE_RE.match(text) or _UPDATED_RE.search(text) or _SHARE_RE.match(text):
        return True
    if _CREDIT_START_RE.match(text) or _CREDIT_END_RE.search(text) or _PHOTO_TAG_RE.search(text):
        return True
    return bool(
        _BYLINE_RE.match(text) and (len(text) < 90 or _EMAIL_RE.search(text)) and text[-1] not in '.!?”"'
    )


def normalise_space(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u3000", " ").split())


def clean_paragraphs(paragraphs: Iterable[str], furniture: re.Pattern[str] | None = None) -> list[str]:
    """Whitespace-normalised paragraphs without furniture, bylines, e-mail lines and captions."""
    cleaned: list[str] = []
    for paragraph in paragraphs:
        # A trailing e-mail address glued to a byline or the last sentence ("... said. xy@chinadaily.com.cn").
        text = _TRAILING_EMAIL_RE.sub("", normalise_space(paragraph))
        if not text or is_noise(text, furniture):
            continue
        if cleaned and cleaned[-1] == text:
            continue
        cleaned.append(text)
    return cleaned
