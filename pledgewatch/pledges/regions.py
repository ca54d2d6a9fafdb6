"""Chinese provinces and regions as the press names them, normalised to provincial-level names.

Pledges are compared and filtered by region, so "Hubei province", "Hubei's" and "Wuhan" must all
become "Hubei", and a macro-region such as "Northeast China" must become the provinces it covers
(Heilongjiang, Jilin, Liaoning), the way analysts query it. A region is stored as a comma-joined,
sorted list of these names.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pledgewatch.pledges._data import load
from pledgewatch.pledges.trie import trie_pattern

_TABLES = load("regions")
# Provincial-level divisions, with the spellings English-language outlets use.
PROVINCES: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _TABLES["provinces"].items()}
# Macro-regions that stand for several provinces.
MACRO_REGIONS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _TABLES["macro_regions"].items()}
# Cities that outlets name instead of their province.
CITIES: dict[str, str] = _TABLES["cities"]
# Countries named as the place of an overseas pledge; kept as they are.
COUNTRIES: tuple[str, ...] = tuple(_TABLES["countries"])
# Adjectives that name a country ("its Indonesian joint venture").
DEMONYMS: dict[str, str] = _TABLES["demonyms"]


@lru_cache(maxsize=1)
def _pattern() -> tuple[re.Pattern[str], dict[str, tuple[str, ...]]]:
    table: dict[str, tuple[str, ...]] = {}
    for name, spellings in PROVINCES.items():
        for spelling in spellings:
            table[spelling.lower()] = (name,)
    for spelling, provinces in MACRO_REGIONS.items():
        table[spelling.lower()] = provinces
    for city, province in CITIES.items():
        table[city.lower()] = (province,)
    for country in COUNTRIES:
        table[country.lower()] = (country.removeprefix("the "),)
    for adjective, country in DEMONYMS.items():
        table[adjective.lower()] = (country,)

    def char(c: str) -> str:
        return r"\s+" if c == " " else "['’]" if c == "'" else re.escape(c)

    alternatives = trie_pattern(table, char)
    # Case-sensitive on the first letter (proper nouns), so "us" the pronoun is not the US.
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE), table


def find_regions(text: str) -> list[tuple[int, int, tuple[str, ...]]]:
    """Every region name in ``text``: (start, end, provinces) in order of appearance."""
    return list(_find_regions(text))


@lru_cache(maxsize=1024)
def _find_regions(text: str) -> tuple[tuple[int, int, tuple[str, ...]], ...]:
    # Cached: a sentence and its spans are asked about several times while it is read.
    pattern, table = _pattern()
    found: list[tuple[int, int, tuple[str, ...]]] = []
    for match in pattern.finditer(text):
        surface = match.group(0)
        if not surface[0].isupper() and not surface.lower().startswith(("northeast", "the northeastern")):
            continue
        if surface in ("US", "UK", "UAE") and not surface.isupper():
            continue
        key = re.sub(r"\s+", " ", surface.lower()).replace("’", "'")
        provinces = table.get(key)
        if provinces:
            found.append((match.start(), match.end(), provinces))
    return tuple(found)


def normalise_region(text: str | None) -> str | None:
    """A user's or a sentence's region ("northeast China", "Hubei province", "Wuhan") as stored."""
    if not text:
        return None
    provinces: set[str] = set()
    for _, _, names in find_regions(text):
        provinces.update(names)
    if not provinces:
        return None
    return join_regions(provinces)


def join_regions(provinces: set[str] | list[str] | tuple[str, ...]) -> str:
    return ", ".join(sorted(set(provinces)))


def split_regions(value: str | None) -> set[str]:
    return {part.strip() for part in (value or "").split(",") if part.strip()}


_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
# "Beijing, Sep 4 -", "BEIJING, Sept. 4 (Xinhua) --", "SHANGHAI (Reuters) -", "Beijing -": where the
# story was filed, not where the pledge is.
_DATELINE = re.compile(
    rf"^\s*[A-Z][A-Za-z'’-]+(?:\s+[A-Z][A-Za-z'’-]+)?\s*"
    rf"(?:,\s*(?:{_MONTH}\s+\d{{1,2}}|\d{{1,2}}\s+{_MONTH})(?:,?\s+\d{{4}})?\s*)?"
    r"(?:\((?:Xinhua|Reuters|AP|AFP|Bloomberg|China\s+Daily|CGTN|ECNS|Chinanews)\)\s*)?"
    r"(?:-{1,2}|–|—)\s"
)


def dateline_end(text: str) -> int:
    """End of a dateline at the start of ``text`` ("Beijing, Sep 4 -"), or 0 when there is none."""
    match = _DATELINE.match(text[:120])
    return match.end() if match else 0


def find_places(text: str) -> list[tuple[int, int, tuple[str, ...]]]:
    """:func:`find_regions` without the dateline: the places a sentence is about."""
    skip = dateline_end(text)
    return [r for r in find_regions(text) if r[0] >= skip]
