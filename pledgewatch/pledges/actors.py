"""Actors: which company a pledge belongs to, and when the subject is not a company at all.

Company names come from the watch list and ``data/companies.json`` through one alias matcher
(:class:`AliasMatcher`), shared with the watch list's relevance check; suffix patterns ("... Group",
"... Co., Ltd") catch companies in neither.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from pledgewatch.config import default_watchlist
from pledgewatch.pledges._data import load
from pledgewatch.pledges.regions import find_regions
from pledgewatch.pledges.sentences import SENTENCE_OPENERS as _SENTENCE_OPENERS
from pledgewatch.pledges.sentences import clause_start as _clause_start
from pledgewatch.pledges.trie import trie_pattern

# Companies outside the watch list that the outlets report pledges of: canonical name -> aliases.
KNOWN_COMPANIES: dict[str, tuple[str, ...]] = {
    name: tuple(aliases) for name, aliases in load("companies")["known_companies"].items()
}
# Executives who speak for a company (data/companies.json): "Founder Zhang Jindong said the company
# will ..." is Suning's pledge. A person is never an actor, only the antecedent's company.
_EXECUTIVES: dict[str, str] = {
    person: company
    for company, people in load("companies")["executives"].items()
    if not company.startswith("_")
    for person in people
}


@lru_cache(maxsize=1)
def _executive_matcher() -> AliasMatcher:
    return AliasMatcher(_EXECUTIVES, ignore_case=False)


def _executive_company(sentence: str) -> str | None:
    """The company of the first executive the sentence names, if any."""
    found = _executive_matcher().find(sentence)
    return found[0][2] if found else None


# The configuration's default watch list, so pledges and relevance agree without a config file.
_DEFAULT_WATCHLIST: dict[str, tuple[str, ...]] = {
    entity.name: tuple(entity.aliases) for entity in default_watchlist()
}
_COMPANY_PATTERN = re.compile(
    r"\b(?!The\b|A\b|An\b|This\b)((?:[A-Z][\w&'.-]*\s+){1,3}?)(Group|Co\.?|Company|Inc\.?|Corp\.?|Corporation|"
    r"Ltd\.?|Holdings|Technologies)(?!\w)"
)
_PRONOUN_RE = re.compile(
    r"\b(?:it|its|we|our|they|their|which|(?:the|[A-Z][\w-]*['’]s)\s+(?:[\w-]+\s+){0,2}?(?:company|firm|group|giant|retailer|e-tailer|"
    r"platform|major|player|operator|conglomerate|partners|two\s+sides|parties|tech\s+firm))\b"
    r"|\bthe\s+(?:[\w-]+\s+){0,2}?(?:project|program|programme|plan|initiative|cooperation|partnership|agreement|"
    r"deal|investment|fund|center|centre|facility|park|base|hub|campaign|scheme|venture)\b",
    re.IGNORECASE,
)
# Pronouns and descriptors that stand for a company when nothing resolves them.
_DESCRIPTOR_RE = re.compile(
    r"\b(?:it|we|(?:the|[A-Z][\w-]*['’]s)\s+(?:[\w-]+\s+){0,2}?(?:company|firm|group|giant|retailer|e-tailer|platform|"
    r"conglomerate|tech\s+firm|operator))\b",
    re.IGNORECASE,
)


def _first_of_conjunction(sentence: str, mentions: list[tuple[int, int, str]]) -> str:
    """The subject among the companies before a verb: the last one, or the first of a joint
    subject ("Baidu and Geely will jointly invest" -> Baidu)."""
    index = len(mentions) - 1
    joint = re.compile(r"\s*(?:,|and|&|together\s+with|along\s+with)\s*")
    while index > 0 and joint.fullmatch(sentence[mentions[index - 1][1] : mentions[index][0]]):
        index -= 1
    return mentions[index][2]


def _as_written(surface: str) -> str:
    """A descriptor as an actor name: "The e-commerce giant" -> "the e-commerce giant"."""
    words = surface.split()
    return " ".join([words[0].lower(), *words[1:]]) if words else surface


_GOVERNMENT_RE = re.compile(
    r"\b(?:government|governments|ministry|council|office|commission|bureau|authorities|administration|"
    r"department|officials?|state|country|nation|province|provinces|city|municipality|county|prefecture|"
    r"party|NDRC|PBOC|MOFCOM|central\s+bank|regulators?|premier|president\s+Xi|Xi\s+Jinping|China|Beijing|"
    r"provincial|municipal|local\s+authorities|the\s+region|governor|mayor)\b"
    # "State" alone, not "state-owned"; proper names (China, Beijing) keep their capital.
    r"(?!-owned)",
    re.IGNORECASE,
)
_ANALYST_RE = re.compile(
    r"\b(?:analysts?|research|researchers|estimates?|forecasts?|consultancy|consultants|brokerage|"
    r"iResearch|Morgan\s+Stanley|Goldman\s+Sachs|Nomura|Mizuho|eMarketer|Statista|economists?|survey|"
    r"report\s+(?:by|from)|according\s+to\s+(?:a|the)\s+(?:report|study|forecast))\b",
    re.IGNORECASE,
)
_STAT_RE = re.compile(
    r"\b(?:revenue|revenues|sales|GMV|turnover|profit|profits|earnings|income|market|markets|transactions|"
    r"orders|users?|shoppers?|consumers?|customers?|buyers?|valuation|value|prices|exports|imports|output|GDP|economy|spending|"
    r"volume|volumes|share|shares|growth|population|size|traffic|parcels|packages|deliveries)\b",
    re.IGNORECASE,
)


_STAT_BEFORE_RE = re.compile(
    _STAT_RE.pattern
    + r"\s+(?:(?:of|to|at|will|would|reach\w*|top\w*|exceed\w*|hit\w*|surpass\w*|grow\w*|ris\w*|increas\w*|"
    r"be|by)\s+){1,3}(?:more\s+than\s+|about\s+|over\s+|some\s+|up\s+to\s+|nearly\s+|around\s+|almost\s+)?$|"
    + _STAT_RE.pattern
    + r"\s*$",
    re.IGNORECASE,
)


# Subjects that are events or documents, not actors: "The festival will feature 5,000 sessions".
_NON_ACTOR_RE = re.compile(
    r"\b(?:festival|event|fair|expo|exhibition|conference|forum|summit|report|survey|study|index|ranking|"
    r"season|holiday|ceremony|promotion|sale)s?\b",
    re.IGNORECASE,
)


def _is_cjk(name: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in name)


class AliasMatcher:
    """Company aliases found in text on word boundaries, with one compiled trie regex.

    One implementation for both users: the watch list's relevance check (exact case, "JD" is not
    "JDK" nor "jd") and the pledge actor resolver (any case, but an alias must start as a proper
    noun: "jd" in a URL or an e-mail address is no mention). Latin names need no letter, digit or
    underscore directly before or after ("JD.com", "JD's" match); Chinese text has no spaces
    between words, so CJK names match anywhere.
    """

    def __init__(self, table: dict[str, str], ignore_case: bool) -> None:
        self.ignore_case = ignore_case
        self._table = {(alias.lower() if ignore_case else alias): name for alias, name in table.items()}
        latin = [a for a in table if a.strip() and not _is_cjk(a)]
        cjk = [a for a in table if a.strip() and _is_cjk(a)]
        parts = []
        if latin:
            parts.append(rf"(?<!\w)(?:{trie_pattern(latin)})(?!\w)")
        if cjk:
            parts.append(trie_pattern(cjk))
        flags = re.IGNORECASE if ignore_case else 0
        self._pattern = re.compile("|".join(parts) or r"(?!x)x", flags)

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, canonical name) of every alias mention, in order, longest first at a position."""
        found: list[tuple[int, int, str]] = []
        for match in self._pattern.finditer(text):
            surface = match.group(0)
            if self.ignore_case:
                # Aliases are proper nouns: "jd" in a URL-ish lowercase word is not a mention,
                # and an e-mail address ("liuchang61@jd.com") neither.
                if surface[:1].islower() and surface.isascii():
                    continue
                if match.start() > 0 and text[match.start() - 1] in "@./":
                    continue
                surface = surface.lower()
            name = self._table.get(re.sub(r"\s+", " ", surface))
            if name is not None:
                found.append((match.start(), match.end(), name))
        return found


class ActorResolver:
    """Finds company names in text and normalises them to the watch list or a known company."""

    def __init__(self, watchlist: dict[str, Sequence[str]] | None = None) -> None:
        table: dict[str, str] = {}
        for name, aliases in KNOWN_COMPANIES.items():
            for alias in aliases:
                table[alias.lower()] = name
        self.watched: set[str] = set()
        for name, aliases in (watchlist if watchlist is not None else _DEFAULT_WATCHLIST).items():
            self.watched.add(name)
            for alias in (name, *aliases):
                if alias.strip():
                    table[alias.strip().lower()] = name
        self._table = table
        self._aliases = AliasMatcher(table, ignore_case=True)
        self._cache: dict[str, list[tuple[int, int, str]]] = {}

    @classmethod
    def from_entities(cls, entities: Iterable[object]) -> ActorResolver:
        """From config ``WatchEntity`` objects (anything with ``name`` and ``aliases``)."""
        return cls({e.name: list(e.aliases) for e in entities})  # type: ignore[attr-defined]

    def companies(self, text: str) -> list[tuple[int, int, str]]:
        """Company mentions: (start, end, canonical name), in order."""
        cached = self._cache.get(text)
        if cached is not None:
            return list(cached)
        found = self._aliases.find(text)
        for match in _COMPANY_PATTERN.finditer(text):
            if any(s <= match.start() < e or match.start() <= s < match.end() for s, e, _ in found):
                continue
            head = match.group(1).strip()
            if _GOVERNMENT_RE.search(head) or head.split()[0] in _SENTENCE_OPENERS:
                continue
            name = f"{head} {match.group(2).rstrip('.')}"
            canonical = self._table.get(name.lower()) or self._table.get(head.lower()) or name
            found.append((match.start(), match.end(), canonical))
        found.sort()
        # The same sentence is asked about several times while its quantities are resolved.
        if len(self._cache) > 256:
            self._cache.clear()
        self._cache[text] = found
        return list(found)

    def normalise(self, name: str) -> str:
        """A user's actor filter ("jd", "Jingdong") as stored; unknown names are kept as given."""
        return self._table.get(name.strip().lower(), name.strip())


@lru_cache(maxsize=1)
def default_resolver() -> ActorResolver:
    """The built-in watch list (JD.com) and known companies, compiled once."""
    return ActorResolver()


def subject_company(resolver: ActorResolver, text: str) -> str | None:
    """The company an article is about: the most mentioned, watch-list companies first on ties."""
    counts = Counter(name for _, _, name in resolver.companies(text))
    if not counts:
        return None
    return max(counts, key=lambda n: (counts[n], n in resolver.watched))


def _sentence_subject(resolver: ActorResolver, sentence: str) -> str | None:
    """The company a sentence is about: its first company mention that is not a possessive modifier."""
    mentions = resolver.companies(sentence)
    for _start, end, name in mentions:
        following = sentence[end : end + 2]
        if following in ("'s", "’s") and re.match(
            r"['’]s\s+(?:rival|competitor|peer|partner)", sentence[end:]
        ):
            continue
        return name
    return mentions[0][2] if mentions else None


@dataclass
class _Context:
    """What the text so far established: its subject, the last sentences' subjects and places."""

    resolver: ActorResolver
    published: date | None
    subject: str | None
    previous_subjects: list[str]
    # (sentence index, provinces) of the last sentences that named a place.
    previous_regions: list[tuple[int, str]] = field(default_factory=list)
    sentence_index: int = 0


def _resolve_actor(sentence: str, cue_start: int, ctx: _Context) -> tuple[str | None, str]:
    """(actor, why) for the clause whose verb cue starts at ``cue_start``; actor None = not a company."""
    clause_start = _clause_start(sentence, cue_start)
    # Appositives and relative clauses between commas ("Walmart, a partner of JD, plans to";
    # "The retailer, which opened a Sichuan warehouse in 2012, plans to") are not the subject.
    span = _mask_parentheticals(sentence[clause_start:cue_start])
    companies = [m for m in ctx.resolver.companies(sentence) if m[0] < cue_start]
    in_span = [
        m
        for m in companies
        if m[0] >= clause_start and span[m[0] - clause_start : m[1] - clause_start].strip()
    ]
    # "Aside from JD.com, Pinduoduo also plans": a company in a fronted comparison is not the subject.
    subjects = [m for m in in_span if not _ASIDE_BEFORE.search(sentence, max(0, m[0] - 30), m[0])]
    if subjects and len(subjects) < len(in_span):
        in_span = subjects
    # The nearest typed word left of the cue decides whose commitment it is.
    nearest: list[tuple[int, str]] = []
    for _, end, _ in in_span:
        nearest.append((end, "company"))
    for match in _STAT_RE.finditer(span):
        # "JD's revenue will reach": a statistic is the subject, not a commitment; one after a
        # preposition ("the upgrade of its lower-tier markets program to provide") is not.
        if not _after_preposition(span, match.start()):
            nearest.append((clause_start + match.end(), "stat"))
    for match in _PRONOUN_RE.finditer(span):
        nearest.append((clause_start + match.end(), "pronoun"))
    # A place or an authority after a preposition ("confident in Northeast China", "met with the
    # governor") is an object, not the subject.
    # An authority or a place is the subject only at the end of the span, right before the verb
    # ("Hubei province plans to", "China aims to"), not as a modifier ("its first Sichuan warehouse").
    subject_zone = _last_words_start(span, 4)
    for match in _GOVERNMENT_RE.finditer(span):
        if _MODIFIER_AFTER.match(span, match.end()):
            # "China's leading e-tailer", "the Beijing-based company": a modifier of the subject.
            continue
        if match.start() >= subject_zone and not _after_preposition(span, match.start()):
            nearest.append((clause_start + match.end(), "government"))
    for match in _ANALYST_RE.finditer(span):
        nearest.append((clause_start + match.end(), "analyst"))
    for match in _NON_ACTOR_RE.finditer(span):
        nearest.append((clause_start + match.end(), "non-actor"))
    for start, end, _ in find_regions(span):
        if _MODIFIER_AFTER.match(span, end):
            continue
        if start >= subject_zone and not _after_preposition(span, start):
            nearest.append((clause_start + end, "government"))
    nearest.sort()
    last = nearest[-1][1] if nearest else None
    if last in ("stat", "analyst", "non-actor"):
        return None, last
    if in_span and last in ("company", None):
        return _first_of_conjunction(sentence, in_span), "named"
    if last == "government" and not in_span:
        # "JD and the provincial government will ..." keeps JD; a government alone is no company.
        return None, "government"
    if in_span:
        return in_span[-1][2], "named"
    if last == "pronoun" and len(nearest) > 1 and nearest[-2][1] == "government":
        # "The commerce ministry said it will ...": the pronoun is the authority.
        return None, "government"
    if last is None and not companies and _reported_by_non_company(sentence, clause_start):
        # "an official of the State Council told local media that ... will save the retailer
        # CNY10 million": a claim of the speaker, whose clause names no company of its own.
        return None, "speaker not a company"
    # Pronoun, descriptor or no subject: the company this sentence, or the text, is about.
    if re.search(r"\b(?:we|our)\b", span, re.IGNORECASE):
        after = ctx.resolver.companies(sentence[cue_start:])
        if after:
            return after[0][2], "speaker"
    if companies:
        return _first_non_possessive(sentence, companies), "coreference"
    after = ctx.resolver.companies(sentence[cue_start:])
    speaker = re.search(r"\b(?:said|says|according to)\b", sentence[cue_start:], re.IGNORECASE)
    if after and speaker:
        return after[0][2], "speaker"
    executive = _executive_company(sentence)
    if executive is not None and last == "pronoun":
        return executive, "executive"
    agent = re.search(r"\bwill\s+be\s+\w+\s+by\s+", sentence[cue_start:], re.IGNORECASE)
    if agent:
        by = ctx.resolver.companies(sentence[cue_start + agent.end() :])
        if by and by[0][0] == 0:
            return by[0][2], "passive agent"
    for name in ctx.previous_subjects[::-1]:
        return name, "previous sentence"
    if ctx.subject:
        return ctx.subject, "article subject"
    descriptors = [m.group(0) for m in _DESCRIPTOR_RE.finditer(span)]
    if descriptors and last == "pronoun":
        # "the company will invest ...", alone: still a pledge, its actor as written; "The
        # company announced that it will": the descriptor says more than the pronoun.
        named = [d for d in _DESCRIPTOR_RE.findall(sentence[:cue_start]) if d.lower() not in ("it", "we")]
        return _as_written(named[-1] if named else descriptors[-1]), "unresolved"
    return None, "no actor"


# A place or authority that modifies the subject rather than being it.
_MODIFIER_AFTER = re.compile(r"['’]s\s|-(?:based|headquartered|listed|born)\b", re.IGNORECASE)
_ASIDE_BEFORE = re.compile(
    r"\b(?:aside\s+from|apart\s+from|besides|like|unlike|as\s+with|similar\s+to|in\s+addition\s+to)\s+$",
    re.IGNORECASE,
)
_REPORTING_RE = re.compile(
    r"\b(?:said|says|told\s+(?:[\w-]+\s+){0,3}?|believes?|believed|estimated?|estimates|argued?|noted)\s*(?:that\s*)?$",
    re.IGNORECASE,
)
_SPEAKER_RE = re.compile(
    r"\b(?:director|official|officials|spokesperson\s+for\s+the\s+(?:ministry|government)|minister|professor|"
    r"researcher|scholar|expert|analyst|economist|deputy)\b",
    re.IGNORECASE,
)


def _reported_by_non_company(sentence: str, clause_start: int) -> bool:
    """Whether the clause is what a non-company speaker (an official, an analyst) said."""
    lead = sentence[:clause_start]
    if not _REPORTING_RE.search(lead):
        return False
    return bool(_SPEAKER_RE.search(lead) or _GOVERNMENT_RE.search(lead) or _ANALYST_RE.search(lead))


_PARENTHETICAL = re.compile(
    r",\s*(?:(?:which|who|whose|where|a|an|the|one\s+of|its|formerly|also|once)\b|[A-Z][\w-]*['’]s\s)[^,;“”\"]*,\s*",
    re.IGNORECASE,
)


def _mask_parentheticals(span: str) -> str:
    """``span`` with appositives and relative clauses blanked out, offsets unchanged."""
    return _PARENTHETICAL.sub(lambda m: " " * len(m.group(0)), span)


def _last_words_start(span: str, count: int) -> int:
    starts = [m.start() for m in re.finditer(r"\S+", span)]
    return starts[-count] if len(starts) >= count else 0


_PREPOSITION_BEFORE = re.compile(
    r"\b(?:in|of|for|to|with|from|across|into|on|at|under|throughout|around|by|about)\s+(?:the\s+|its\s+|their\s+)?"
    r"(?:[\w'’-]+\s+){0,2}$",
    re.IGNORECASE,
)


def _after_preposition(span: str, start: int) -> bool:
    return bool(_PREPOSITION_BEFORE.search(span[:start]))


_NOT_SUBJECT_BEFORE = re.compile(
    r"\b(?:following|after|like|unlike|than|including|besides|with|from|under|to|for|of|by|and)\s+"
    r"(?:the\s+|its\s+|rival\s+|peer\s+)?$",
    re.IGNORECASE,
)


def _first_non_possessive(sentence: str, companies: list[tuple[int, int, str]]) -> str:
    """The antecedent of a pronoun among the companies named before it in the sentence: the last
    that can be a subject ("Following Tencent, ... Pinduoduo announced that it will" -> Pinduoduo),
    not an object ("with JD"), a comparison ("following Tencent") or a possessive rival."""
    for start, end, name in reversed(companies):
        if re.match(r"['’]s\s+(?:rival|competitor|peer|partner)", sentence[end:]):
            continue
        if re.match(r"['’]s\b", sentence[end:]):
            # "JD's Hubei plan": JD can still be meant, but a non-possessive mention is better.
            continue
        if _NOT_SUBJECT_BEFORE.search(sentence[:start]):
            continue
        return name
    for _, end, name in companies:
        if not re.match(r"['’]s\s+(?:rival|competitor|peer|partner)", sentence[end:]):
            return name
    return companies[0][2]


def _subject_text(sentence: str, cue_start: int, ctx: _Context, why: str = "") -> str:
    """The subject of the cue as written: the last company name or pronoun/descriptor before it in
    its clause ("JD Logistics", "the company", "it"), or "" when the clause has none."""
    start = _clause_start(sentence, cue_start)
    span = _mask_parentheticals(sentence[start:cue_start])
    best: tuple[int, str] | None = None
    for s, e, _ in ctx.resolver.companies(sentence[:cue_start]):
        if s >= start and span[s - start : e - start].strip():
            best = (e, sentence[s:e])
    if best is not None and why == "named":
        # The actor was named: its name is the subject, not a later "the project".
        return best[1]
    for match in _PRONOUN_RE.finditer(span):
        if best is None or start + match.end() > best[0]:
            best = (start + match.end(), match.group(0))
    return best[1] if best else ""
