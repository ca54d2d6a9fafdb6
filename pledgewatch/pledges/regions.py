"""Chinese provinces and regions as the press names them, normalised to provincial-level names.

Pledges are compared and filtered by region, so "Hubei province", "Hubei's" and "Wuhan" must all
become "Hubei", and a macro-region such as "Northeast China" must become the provinces it covers
(Heilongjiang, Jilin, Liaoning), the way analysts query it. A region is stored as a comma-joined,
sorted list of these names.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Provincial-level divisions, with the spellings English-language outlets use.
PROVINCES: dict[str, tuple[str, ...]] = {
    "Anhui": ("Anhui",),
    "Beijing": ("Beijing",),
    "Chongqing": ("Chongqing",),
    "Fujian": ("Fujian",),
    "Gansu": ("Gansu",),
    "Guangdong": ("Guangdong",),
    "Guangxi": ("Guangxi", "Guangxi Zhuang autonomous region", "Guangxi Zhuang Autonomous Region"),
    "Guizhou": ("Guizhou",),
    "Hainan": ("Hainan",),
    "Hebei": ("Hebei",),
    "Heilongjiang": ("Heilongjiang",),
    "Henan": ("Henan",),
    "Hubei": ("Hubei",),
    "Hunan": ("Hunan",),
    "Inner Mongolia": ("Inner Mongolia", "Inner Mongolia autonomous region"),
    "Jiangsu": ("Jiangsu",),
    "Jiangxi": ("Jiangxi",),
    "Jilin": ("Jilin",),
    "Liaoning": ("Liaoning",),
    "Ningxia": ("Ningxia", "Ningxia Hui autonomous region"),
    "Qinghai": ("Qinghai",),
    "Shaanxi": ("Shaanxi",),
    "Shandong": ("Shandong",),
    "Shanghai": ("Shanghai",),
    "Shanxi": ("Shanxi",),
    "Sichuan": ("Sichuan",),
    "Tianjin": ("Tianjin",),
    "Tibet": ("Tibet", "Xizang", "Tibet autonomous region"),
    "Xinjiang": ("Xinjiang", "Xinjiang Uygur autonomous region", "Xinjiang Uyghur autonomous region"),
    "Yunnan": ("Yunnan",),
    "Zhejiang": ("Zhejiang",),
    "Hong Kong": ("Hong Kong",),
    "Macao": ("Macao", "Macau"),
}

# Macro-regions that stand for several provinces.
MACRO_REGIONS: dict[str, tuple[str, ...]] = {
    "Northeast China": ("Heilongjiang", "Jilin", "Liaoning"),
    "northeastern China": ("Heilongjiang", "Jilin", "Liaoning"),
    "Northeastern China": ("Heilongjiang", "Jilin", "Liaoning"),
    "northeast China": ("Heilongjiang", "Jilin", "Liaoning"),
    "China's northeast": ("Heilongjiang", "Jilin", "Liaoning"),
    "the northeastern region": ("Heilongjiang", "Jilin", "Liaoning"),
    "northeastern provinces": ("Heilongjiang", "Jilin", "Liaoning"),
    "three northeastern provinces": ("Heilongjiang", "Jilin", "Liaoning"),
    "Yangtze River Delta": ("Anhui", "Jiangsu", "Shanghai", "Zhejiang"),
    "Beijing-Tianjin-Hebei": ("Beijing", "Hebei", "Tianjin"),
    "Jing-Jin-Ji": ("Beijing", "Hebei", "Tianjin"),
    "Greater Bay Area": ("Guangdong", "Hong Kong", "Macao"),
    "Guangdong-Hong Kong-Macao Greater Bay Area": ("Guangdong", "Hong Kong", "Macao"),
}

# Cities that outlets name instead of their province.
CITIES: dict[str, str] = {
    "Wuhan": "Hubei",
    "Yichang": "Hubei",
    "Xiangyang": "Hubei",
    "Harbin": "Heilongjiang",
    "Changchun": "Jilin",
    "Shenyang": "Liaoning",
    "Dalian": "Liaoning",
    "Chengdu": "Sichuan",
    "Xi'an": "Shaanxi",
    "Xian": "Shaanxi",
    "Guangzhou": "Guangdong",
    "Shenzhen": "Guangdong",
    "Dongguan": "Guangdong",
    "Hangzhou": "Zhejiang",
    "Ningbo": "Zhejiang",
    "Yiwu": "Zhejiang",
    "Nanjing": "Jiangsu",
    "Suzhou": "Jiangsu",
    "Suqian": "Jiangsu",
    "Wuxi": "Jiangsu",
    "Langfang": "Hebei",
    "Shijiazhuang": "Hebei",
    "Xiong'an": "Hebei",
    "Xiongan": "Hebei",
    "Kunming": "Yunnan",
    "Guiyang": "Guizhou",
    "Lanzhou": "Gansu",
    "Xining": "Qinghai",
    "Lhasa": "Tibet",
    "Urumqi": "Xinjiang",
    "Kashgar": "Xinjiang",
    "Hohhot": "Inner Mongolia",
    "Nanning": "Guangxi",
    "Yinchuan": "Ningxia",
    "Haikou": "Hainan",
    "Sanya": "Hainan",
    "Fuzhou": "Fujian",
    "Xiamen": "Fujian",
    "Nanchang": "Jiangxi",
    "Changsha": "Hunan",
    "Zhengzhou": "Henan",
    "Jinan": "Shandong",
    "Qingdao": "Shandong",
    "Taiyuan": "Shanxi",
    "Hefei": "Anhui",
}

# Countries named as the place of an overseas pledge; kept as they are.
COUNTRIES: tuple[str, ...] = (
    "Indonesia",
    "Thailand",
    "Vietnam",
    "Malaysia",
    "Singapore",
    "Germany",
    "France",
    "Spain",
    "Italy",
    "Netherlands",
    "the Netherlands",
    "United Kingdom",
    "UK",
    "United States",
    "US",
    "Japan",
    "South Korea",
    "Saudi Arabia",
    "Rwanda",
    "Kenya",
    "Pakistan",
    "India",
    "Bangladesh",
    "Cambodia",
    "Laos",
    "Myanmar",
    "Philippines",
    "the Philippines",
    "Australia",
    "New Zealand",
    "Canada",
    "Mexico",
    "Brazil",
    "Chile",
    "Russia",
    "Kazakhstan",
    "Uzbekistan",
    "Poland",
    "Hungary",
    "Belgium",
    "Sweden",
    "Ireland",
    "United Arab Emirates",
    "UAE",
    "Egypt",
    "Nigeria",
    "Ethiopia",
    "South Africa",
    "Israel",
    "Turkey",
)


# Adjectives that name a country ("its Indonesian joint venture").
DEMONYMS: dict[str, str] = {
    "Indonesian": "Indonesia",
    "Thai": "Thailand",
    "Vietnamese": "Vietnam",
    "Malaysian": "Malaysia",
    "Singaporean": "Singapore",
    "German": "Germany",
    "French": "France",
    "Spanish": "Spain",
    "Italian": "Italy",
    "Dutch": "Netherlands",
    "British": "United Kingdom",
    "Japanese": "Japan",
    "Saudi": "Saudi Arabia",
    "Rwandan": "Rwanda",
    "Pakistani": "Pakistan",
    "Indian": "India",
    "Australian": "Australia",
    "Russian": "Russia",
    "Brazilian": "Brazil",
    "Mexican": "Mexico",
    "Korean": "South Korea",
}


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
