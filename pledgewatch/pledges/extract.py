"""Pledge detection: which sentences report a company's future commitment with a quantity.

Rules, not a model, so that every decision can be explained to an analyst and nothing is
downloaded. A sentence is a pledge when, for some quantity in it (money, or a number of people,
jobs, counties, facilities ...):

1. the nearest verb cue to the left of the quantity is a commitment or future cue ("will",
   "plans to", "pledged", "is expected to help", "has earmarked", "raises its pledge to") and not
   a past one ("had helped", "has sold", "donated", "as of");
2. the clause's subject is a company (named, or a pronoun / descriptor such as "it" or "the
   e-commerce giant" resolved to the company the text is about), not a government body, an
   analyst or a market statistic ("JD's revenue will reach ...");
3. nothing makes it hypothetical ("if", "could", "might").

The future part of a mixed sentence decides, and its quantity is the one extracted. Everything
here is pure (text in, :class:`PledgeCandidate` out); storing and identity live in
``pledgewatch.store.pledges``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from pledgewatch.pledges._data import load
from pledgewatch.pledges.actors import (
    _ANALYST_RE,
    _STAT_BEFORE_RE,
    ActorResolver,
    _Context,
    _first_non_possessive,
    _resolve_actor,
    _sentence_subject,
    _subject_text,
    default_resolver,
    subject_company,
)
from pledgewatch.pledges.cues import (
    _CONDITIONAL_RE,
    _CORRECTION_RE,
    _DENIAL_RE,
    _PAST_AFTER_RE,
    _REVISION_RE,
    CAUSE_BEFORE,
    CUE_WINDOW,
    _announced_package,
    _attribution_start,
    _governing_cue,
    _is_finance,
    _is_future,
    _main_future_cue,
    _nominal_commitment,
    dated_goal,
)
from pledgewatch.pledges.horizons import _horizon
from pledgewatch.pledges.kinds import _kind
from pledgewatch.pledges.quantities import (
    _QUALIFIERS,
    _SCALES,
    _WORD_NUMBERS,
    PERSON_UNITS,
    Quantity,
    find_quantities,
)
from pledgewatch.pledges.regions import find_places, find_regions, join_regions
from pledgewatch.pledges.sentences import Sentence, split_sentences
from pledgewatch.pledges.sentences import clause_start as _clause_start


@dataclass
class PledgeCandidate:
    """One pledge as one sentence states it."""

    actor: str
    kind: str
    amount_value: float | None
    currency: str | None
    amount_unit: str | None
    qualifier: str | None
    region: str | None
    horizon: str | None
    start_year: int | None
    end_year: int | None
    sentence: str
    sentence_index: int
    start_offset: int
    end_offset: int
    # A conversion printed beside the amount ("($849 million)"): used only to link re-reports.
    alt_amount_value: float | None = None
    alt_currency: str | None = None
    # "raises its pledge to ...": the amount replaces an earlier one.
    is_revision: bool = False
    # "over the next three years": years computed from the publication date, so a re-report a
    # few weeks later may land one year off.
    horizon_relative: bool = False
    # Content words of the pledge's purpose, to tell apart two pledges of the same actor and amount.
    purpose: list[str] = field(default_factory=list)
    # Evidence, so an analyst sees why this is a pledge: the cue that made the quantity a
    # commitment ("will invest", "is expected to create"), the quantity as printed, the subject as
    # written ("the company", "JD Logistics") and how the actor was found ("named", "previous
    # sentence", "article subject", "unresolved" ...).
    cue: str = ""
    quantity_text: str = ""
    subject: str = ""
    actor_source: str = "named"
    # False when the actor is only a pronoun or descriptor that nothing in the text resolves:
    # ``actor`` is then the subject as written ("the company").
    actor_resolved: bool = True

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def evidence(self) -> dict[str, str]:
        """The cue, quantity and subject that made this a pledge, and how the actor was found."""
        return {
            "cue": self.cue,
            "quantity": self.quantity_text,
            "subject": self.subject,
            "actor_source": self.actor_source,
        }

    def explain(self) -> str:
        """One line for an alert or ``pledges list``: why this sentence is a pledge."""
        actor = self.actor if self.actor_resolved else f"{self.actor} (unresolved)"
        subject = (
            f' [subject "{self.subject}", {self.actor_source}]' if self.subject else f" [{self.actor_source}]"
        )
        return f'{actor}: cue "{self.cue}" + quantity "{self.quantity_text}"{subject} -> {self.kind}'


# Words left out of a pledge's purpose: function words and words every report of this beat uses.
_STOPWORDS = frozenset(load("stopwords")["stopwords"])
STOPWORDS = _STOPWORDS


def purpose_words(text: str, names: Iterable[str]) -> list[str]:
    """Content words (6-letter stems) that say what a pledge is for, to tell two pledges apart.

    Names, units, numbers and places are left out: they are compared on their own.
    """
    skip = {n.lower() for n in names}
    for _, _, provinces in find_regions(text):
        skip.update(p.lower() for p in provinces)
    words: list[str] = []
    for word in re.findall(r"[A-Za-z][A-Za-z-]+", text):
        low = word.lower()
        if low in _STOPWORDS or low in skip or len(low) < 4 or low in _WORD_NUMBERS:
            continue
        if low in _SCALES or low in _QUALIFIERS or re.fullmatch(r"(?:19|20)\d\d", low):
            continue
        stem = low[:6]
        if stem not in words:
            words.append(stem)
    return words


_ABANDONED_RE = re.compile(
    r"\b(?:scrapped|shelved|abandoned|dropped|cancel+ed|called\s+off|put\s+on\s+hold)\s+(?:the|its|their|this|that)\s+"
    r"(?:[\w-]+\s+){0,2}?(?:plan|plans|project|deal|investment|pledge|idea|proposal)\b",
    re.IGNORECASE,
)
_DONOR_RE = re.compile(r"\bfoundation\b|\bcharity\b", re.IGNORECASE)
# Sentences are read up to this many characters: a pledge states its cue, quantity and subject
# well within it, and an 8 KB "sentence" (a table of amounts by province flattened into one line)
# would otherwise cost time for nothing. Quantities past it are not pledges.
MAX_SENTENCE_CHARS = 1500


def extract_sentence(
    sentence: Sentence, ctx: _Context, trace: list[str] | None = None
) -> list[PledgeCandidate]:
    """The pledges one sentence states (usually none or one; one per kind of quantity).

    ``trace``, when given, receives one line per quantity that was rejected and why, so a missed
    pledge can be explained as well as a found one.
    """
    text = sentence.text[:MAX_SENTENCE_CHARS]
    quantities = find_quantities(text, percents=True)
    if not quantities or _CORRECTION_RE.search(text):
        if trace is not None:
            trace.append("no quantity" if not quantities else "editor's correction")
        return []

    def reject(quantity: Quantity, why: str) -> None:
        if trace is not None:
            trace.append(f"{text[quantity.start : quantity.end]!r}: {why}")

    candidates: list[PledgeCandidate] = []
    seen_kinds: set[str] = set()
    # Conditions and denials anywhere before a quantity rule it out: found once per sentence (the
    # earliest end of any match), not searched again for every quantity.
    conditional_end = min((m.end() for m in _CONDITIONAL_RE.finditer(text)), default=len(text) + 1)
    denial_end = min((m.end() for m in _DENIAL_RE.finditer(text)), default=len(text) + 1)
    if _ABANDONED_RE.search(text):
        # "had planned to open 1,000 stores, but scrapped the plan": the plan is off, wherever
        # the sentence says so.
        denial_end = 0
    for index, quantity in enumerate(quantities):
        if quantity.is_conversion:
            reject(quantity, "conversion")
            continue
        # The amount a pledge is raised *from* is the old figure, not the pledge.
        lead = text[max(0, quantity.start - 12) : quantity.start].lower()
        if re.search(r"\bfrom\s*(?:rmb|\$|us\$|¥)?\s*$", lead) or re.search(r"\bup\s+from\s*$", lead):
            reject(quantity, "amount raised from")
            continue
        if CAUSE_BEFORE.search(text, max(0, quantity.start - 60), quantity.start):
            reject(quantity, "the cause of the clause, not a commitment")
            continue
        revision = _REVISION_RE.search(text, max(0, quantity.start - CUE_WINDOW), quantity.start)
        cue = _governing_cue(text, quantity.start)
        actor_position: int | None = None
        if revision is not None and (cue is None or cue.start() <= revision.end() + 40):
            cue = revision
        elif (cue is None or not _is_future(cue)) and (package := _announced_package(text, quantity)):
            # "JD announced RMB10 billion in support for merchants": a package for future spending.
            cue = package
            revision = None
        elif (cue is None or not _is_future(cue)) and (goal := dated_goal(text, quantity)):
            # "The company's green goals include reducing carbon emissions by 50 percent by 2030".
            cue = goal
            actor_position = goal.start()
            revision = None
        elif cue is None or not _is_future(cue):
            # "JD's 3-billion-yuan commitment to Sichuan will focus on ...": the amount names a
            # commitment that the clause's future verb then talks about.
            governing = cue
            cue = _nominal_commitment(text, quantity)
            if cue is not None and governing is not None and re.match(r"to\s", cue.group(0), re.IGNORECASE):
                # "was infused with $2.5 billion in investment ... to help": a purpose of past money.
                cue = None
            if cue is None:
                reject(quantity, "no future cue")
                continue
            actor_position = quantity.start
            revision = None
        else:
            revision = None
        if _PAST_AFTER_RE.match(text, quantity.end) and not cue.group(0).lower().startswith(("will", "plan")):
            reject(quantity, "past after the quantity")
            continue
        between = text[cue.end() : quantity.start]
        if _STAT_BEFORE_RE.search(between) and not re.search(
            r"\b(?:invest|donat|spend|inject|pour|allocat|earmark|fund)\w*", between, re.IGNORECASE
        ):
            # "is expected to post revenue of", "sales to reach": a statistic, not a commitment.
            reject(quantity, "a statistic")
            continue
        if _ANALYST_RE.search(between):
            # "... are expected to keep expanding, where analysts forecast growth of 15 percent"
            reject(quantity, "a forecast")
            continue
        if conditional_end <= quantity.start or _CONDITIONAL_RE.search(between):
            reject(quantity, "conditional")
            continue
        if denial_end <= quantity.start:
            reject(quantity, "denial")
            continue
        if _is_finance(text, cue.start(), quantity):
            reject(quantity, "finance")
            continue
        if actor_position is None and re.match(r"to\s", cue.group(0), re.IGNORECASE):
            # "X will work with JD to train 10,000 workers": the subject is the main verb's, X.
            main = _main_future_cue(text, cue.start())
            if main is not None:
                actor_position = main
        actor_at = actor_position if actor_position is not None else cue.start()
        actor, why = _resolve_actor(text, actor_at, ctx)
        if actor is None and why == "no actor" and actor_position == quantity.start:
            # "Under the initiative, 100 colleges will be established by ...": a passive future of
            # a project; its company is whichever the sentence names.
            named = ctx.resolver.companies(text)
            if named:
                actor, why = _first_non_possessive(text, named), "in sentence"
        if actor is None and why == "no actor" and _unnamed_project(text, actor_at, quantity, actor_position):
            # "A total of 185 drone airports will be established", "The new logistics hub is
            # expected to create 5,000 jobs", alone: a company's project whose company the text
            # does not name. Still reported, its actor as written and unresolved, so it is seen.
            actor, why = _as_unresolved(text, actor_at, ctx), "unresolved"
            unnamed = True
        else:
            unnamed = False
        if actor is None:
            reject(quantity, f"not a company ({why})")
            continue
        if _FORECASTER_BEFORE.search(text, max(0, actor_at - 200), actor_at):
            # "Analysts expect JD to hire 10,000 people": somebody else's expectation of the company.
            reject(quantity, "a forecast of the company")
            continue
        # The quantity's own clause: from the verb cue (or the previous quantity) to the next one.
        clause_start = max(cue.start(), quantities[index - 1].end if index else 0)
        clause_end = quantities[index + 1].start if index + 1 < len(quantities) else len(text)
        clause = text[clause_start:clause_end]
        donor = bool(_DONOR_RE.search(text, max(0, cue.start() - CUE_WINDOW), cue.start()))
        window = text[cue.start() : quantity.start]
        after = text[quantity.end : min(clause_end, quantity.end + 80)]
        kind = _kind(quantity, clause, window, after, donor)
        if unnamed and kind == "other":
            # An unnamed project's size ("the park will cover 100 hectares") is a description; only
            # what a pledge commits (money, jobs, people, facilities built, emissions) is reported.
            reject(quantity, "an unnamed project's size, not a commitment")
            continue
        if kind in seen_kinds:
            reject(quantity, "kind already reported")
            continue
        seen_kinds.add(kind)
        alt_value = alt_currency = None
        if index + 1 < len(quantities) and quantities[index + 1].is_conversion:
            alt_value, alt_currency = quantities[index + 1].value, quantities[index + 1].currency
        scope_end = _attribution_start(text, quantity.end)
        subject_span = text[_clause_start(text, cue.start()) : cue.start()]
        region = _region(text, cue.start(), scope_end, ctx, _PROJECT_SUBJECT.search(subject_span) is not None)
        horizon = _horizon(text, cue.start(), scope_end, ctx.published)
        candidates.append(
            PledgeCandidate(
                actor=actor,
                kind=kind,
                amount_value=quantity.value,
                currency=quantity.currency,
                # Job pledges count jobs, whoever fills them ("hire 20,000 couriers").
                amount_unit=_output_unit(quantity, kind),
                qualifier=quantity.qualifier,
                region=region,
                horizon=horizon.text if horizon else None,
                start_year=horizon.start_year if horizon else None,
                end_year=horizon.end_year if horizon else None,
                sentence=text,
                sentence_index=sentence.index,
                start_offset=sentence.start,
                end_offset=sentence.end,
                alt_amount_value=alt_value,
                alt_currency=alt_currency,
                is_revision=revision is not None,
                horizon_relative=bool(horizon and horizon.relative),
                purpose=purpose_words(text[cue.end() : scope_end], [actor]),
                cue=cue.group(0),
                quantity_text=text[quantity.start : quantity.end],
                subject=_subject_text(text, actor_at, ctx, why),
                actor_source=why,
                actor_resolved=why != "unresolved",
            )
        )
    return candidates


_PROJECT_SUBJECT_BEFORE = re.compile(
    r"\b(?:the|this|these|its|their|a|an)\s+(?:[\w-]+\s+){0,3}?(?:project|projects|program|programme|plan|"
    r"initiative|hub|hubs|center|centre|centers|centres|facility|facilities|park|parks|base|bases|campus|"
    r"warehouse|warehouses|venture|scheme|partnership|cooperation|agreement)\s+$|"
    r"^\s*(?:under|through|with|as\s+part\s+of)\s+(?:the|this|its)\s+(?:[\w-]+\s+){0,3}?(?:plan|initiative|"
    r"program|programme|project|scheme|agreement|partnership|deal|campaign)\b",
    re.IGNORECASE,
)


def _unnamed_project(text: str, actor_at: int, quantity: Quantity, actor_position: int | None) -> bool:
    """A company project's future whose company the sentence does not name: a passive future of
    the quantity ("185 drone airports will be established") or a project as subject ("the new hub
    is expected to create"), with no authority anywhere in the sentence (a government's project is
    not a company's pledge)."""
    if _AUTHORITY_RE.search(text) or _ANALYST_RE.search(text):
        return False
    lead = text[_clause_start(text, actor_at) : actor_at]
    if actor_position == quantity.start:
        passive = _PASSIVE_QUANTITY.match(text, quantity.end)
        return bool(passive) or bool(_PROJECT_SUBJECT_BEFORE.search(text[:actor_at]))
    return bool(_PROJECT_SUBJECT_BEFORE.search(lead))


_FORECASTER_BEFORE = re.compile(
    r"\b(?:analysts?|economists?|observers?|experts?|investors?|market\s+watchers|brokers?|traders)\s+"
    r"(?:[\w-]+\s+){0,2}?(?:expect|predict|forecast|estimate|believe|project|see|reckon)(?:s|ed)?\b",
    re.IGNORECASE,
)
# Authorities, not places: "across Guizhou province" is where, not who.
_AUTHORITY_RE = re.compile(
    r"\b(?:government|governments|ministry|ministries|council|commission|bureau|authorities|administration|"
    r"department|officials?|regulators?|municipal|provincial|county|city|state-owned|state|party|premier|mayor|"
    r"governor|NDRC|MOFCOM)\b",
    re.IGNORECASE,
)
_PASSIVE_QUANTITY = re.compile(
    r"[^.;,]{0,40}?\b(?:will|shall|are\s+to|is\s+to|are\s+set\s+to|are\s+expected\s+to)\s+be\s+(?:\w+ly\s+)?"
    r"(?:built|established|set\s+up|opened|created|launched|constructed|trained|hired|recruited|planted|donated|"
    r"invested|deployed|installed|provided|added)\b",
    re.IGNORECASE,
)


def _as_unresolved(text: str, actor_at: int, ctx: _Context) -> str:
    """The subject as written for an unresolved actor ("the new logistics hub"), else "unnamed company"."""
    written = _subject_text(text, actor_at, ctx)
    return written[:1].lower() + written[1:] if written else "unnamed company"


def _output_unit(quantity: Quantity, kind: str) -> str | None:
    if quantity.currency:
        return None
    if kind == "jobs":
        return "jobs"
    return "people" if quantity.unit in PERSON_UNITS else quantity.unit


_ANAPHORIC_PLACE = re.compile(
    r"\b(?:the|that|this)\s+(?:province|region|city|municipality|area)\b", re.IGNORECASE
)


_PROJECT_SUBJECT = re.compile(
    r"\b(?:the|this|these|that)\s+(?:[\w-]+\s+){0,2}?(?:project|projects|park|parks|center|centers|centre|"
    r"centres|hub|hubs|base|facility|facilities|plant|factory|warehouse|warehouses|venture|campus)\b",
    re.IGNORECASE,
)


def _region(
    sentence: str, cue_start: int, scope_end: int, ctx: _Context, refers_back: bool = False
) -> str | None:
    """Provinces of the pledge: named after the verb cue (not in the attribution), else anywhere
    before it; "the province", or a subject such as "the project", refers back to the last place
    the text named."""
    regions = [r for r in find_places(sentence) if r[0] < scope_end]
    after = [names for start, _, names in regions if start >= cue_start]
    chosen = after or [names for _, _, names in regions]
    if not chosen:
        if ctx.previous_regions:
            index, provinces = ctx.previous_regions[-1]
            # "the province" may look further back; "the project" only at the sentence before.
            if _ANAPHORIC_PLACE.search(sentence[cue_start:scope_end]) or (
                refers_back and index >= ctx.sentence_index - 1
            ):
                return provinces
        return None
    # "Northeast China, comprising Heilongjiang, Jilin and Liaoning provinces": one region.
    provinces: set[str] = set()
    for names in chosen:
        provinces.update(names)
    return join_regions(provinces)


def url_words(url: str) -> str:
    """The words of a URL's path as a title would print them ("jd-logistics-aims-to" -> "Jd Logistics
    Aims To"), so company aliases match in a slug; hosts and query strings are left out (every page
    of jd.com would otherwise be "about JD")."""
    path = (
        re.sub(r"^[a-z][a-z0-9+.-]*://[^/]*", "", url.strip(), flags=re.IGNORECASE)
        .split("?")[0]
        .split("#")[0]
    )
    words = re.findall(r"[A-Za-z][A-Za-z0-9]*", path)
    return " ".join(w[:1].upper() + w[1:] for w in words if w.lower() not in _URL_NOISE)


_URL_NOISE = frozenset(
    {"html", "htm", "shtml", "php", "aspx", "www", "com", "cn", "article", "articles", "news"}
)


def extract_pledges(
    text: str,
    published: date | datetime | None = None,
    resolver: ActorResolver | None = None,
    subject: str | None = None,
    title: str | None = None,
    url: str | None = None,
    outlet: str | None = None,
) -> list[PledgeCandidate]:
    """Every pledge stated in ``text`` (an article body or a short report), in text order.

    ``published`` turns relative horizons ("over the next three years") into years; ``subject``
    is the company the text is about when the caller knows it, so "the company will ..." resolves
    to it. Otherwise the subject is the company the ``title`` names, else the one the ``url``'s
    slug names (most news sites put the headline there: ".../suning-to-open-10000-new-stores"),
    else the most mentioned one in the text, else the company whose own newsroom the ``outlet``
    is ("JD corporate blog"). A lone sentence that says only "the company" has no other way to
    its actor; with none of them it is still reported, its actor as written and unresolved.
    """
    resolver = resolver or default_resolver()
    if isinstance(published, datetime):
        published = published.date()
    subject = (
        subject
        or (subject_company(resolver, title) if title else None)
        or (subject_company(resolver, url_words(url)) if url else None)
        or subject_company(resolver, text)
        or (subject_company(resolver, outlet) if outlet else None)
    )
    ctx = _Context(resolver, published, subject, [])
    candidates: list[PledgeCandidate] = []
    for sentence in split_sentences(text):
        ctx.sentence_index = sentence.index
        candidates.extend(extract_sentence(sentence, ctx))
        own = _sentence_subject(resolver, sentence.text)
        if own:
            ctx.previous_subjects = [*ctx.previous_subjects[-2:], own]
        places = find_places(sentence.text)
        if places:
            ctx.previous_regions = [*ctx.previous_regions[-2:], (sentence.index, join_regions(places[-1][2]))]
    return candidates
