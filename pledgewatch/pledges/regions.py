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
    names = sorted(table, key=len, reverse=True)
    alternatives = "|".join(re.escape(n).replace(r"\ ", r"\s+").replace("'", "['’]") for n in names)
    # Case-sensitive on the first letter (proper nouns), so "us" the pronoun is not the US.
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE), table


def find_regions(text: str) -> list[tuple[int, int, tuple[str, ...]]]:
    """Every region name in ``text``: (start, end, provinces) in order of appearance."""
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
    return found


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
