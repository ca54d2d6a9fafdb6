"""Cues: the verbs and phrases that make a quantity a future commitment, or rule it out.

A future or commitment cue ("will", "plans to", "pledged", "has earmarked") left of a quantity
makes it a candidate; a past cue ("had helped", "donated", "as of"), a denial, a condition or a
financing deal does not.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache

from pledgewatch.pledges.quantities import Quantity
from pledgewatch.pledges.sentences import clause_start as _clause_start

# Cues that put what follows in the future, or make it a commitment.
_FUTURE_CUES = [
    r"will(?:\s+also|\s+further|\s+jointly|\s+continue\s+to)?",
    r"['’]ll",
    r"would",
    r"shall",
    r"plans?\s+to",
    r"planning\s+to",
    r"planned\s+to",
    r"(?:has|have)\s+planned",
    r"is\s+planning",
    r"aims?\s+to",
    r"aiming\s+to",
    r"aimed\s+to",
    r"(?:has\s+|have\s+)?pledged(?:\s+to)?",
    r"pledges?(?:\s+to)?",
    r"pledging\s+to",
    r"(?:has\s+|have\s+)?(?:promised|vowed)(?:\s+to)?",
    r"promises\s+to",
    r"vows\s+to",
    r"(?:is|are)\s+committed\s+to",
    r"(?:has\s+|have\s+)?committed(?:\s+to)?",
    r"commits\s+to",
    r"(?:commits|committed|pledges|pledged|promises|promised|vows|vowed|undertakes|undertook)\s+that",
    r"intends?\s+to",
    r"expects?\s+to",
    r"(?:is|are|was|were)\s+expected\s+to",
    r"expected\s+to",
    r"(?:is|are)\s+set\s+to",
    r"(?:is|are)\s+going\s+to",
    r"(?:is|are)\s+to",
    r"seeks?\s+to",
    r"targets?",
    r"(?:has\s+|have\s+)?set\s+(?:a|an|the|itself\s+a)\s+(?:[\w-]+\s+)?(?:target|goal)\s+(?:of|to)",
    r"(?:target|goal)\s+(?:of|is\s+to)",
    r"hopes?\s+to",
    # "which it hopes will benefit 30,000 residents"
    r"hopes?\s+(?:will|would)",
    # expected outcomes: "the effort should create around 2,000 new jobs"
    r"should\s+(?:create|generate|bring|benefit|help|provide|add|lift|train|cover|reach|attract)",
    r"(?:is|are)\s+(?:looking|seeking|aiming|working|striving)\s+to",
    r"(?:with|has|have|had)\s+plans?\s+(?:in\s+place\s+)?to",
    # progressive and present commitments: "Alibaba is pouring 100 billion yuan into"
    r"(?:is|are)\s+(?:now\s+|also\s+)?(?:pouring|investing|injecting|spending|allocating|earmarking|committing|"
    r"donating|channel+ing|ploughing|plowing|putting)",
    r"(?:has\s+|have\s+)?earmarked",
    r"earmarks?",
    r"(?:has\s+|have\s+)?set\s+aside",
    r"sets\s+aside",
    r"(?:has\s+|have\s+)?allocated",
    r"allocates?",
    r"to\s+(?:invest|build|create|donate|train|provide|set\s+up|open|hire|recruit|help|add|spend|inject|pour|sell|"
    r"buy|purchase|procure|source|contribute|cultivate|establish)",
    r"(?:over|in|within|during)\s+the\s+(?:next|coming)",
    r"by\s+(?:the\s+end\s+of\s+)?20\d\d",
]
_REVISION_CUE = (
    r"(?:rais|increas|boost|lift|expand|doubl|up|rais)(?:es|ed|ing|s|e)?\s+(?:its|the|their|his|her)?\s*"
    r"(?:[\w-]+\s+){0,3}?(?:pledge|commitment|investment(?:\s+plan)?|target|budget|donation|plan)s?"
)
_PAST_CUES = [
    r"(?:had|has|have)\s+(?:already\s+|so\s+far\s+|also\s+|now\s+)?(?:been\s+)?\w+(?:ed|en|ne|wn|ld|lt|ht|ut|un|ng)\b",
    r"(?:invested|donated|sold|helped|achieved|raised|provided|created|trained|lifted|launched|opened|built|"
    r"spent|completed|delivered|reached|recorded|exceeded|distributed|hired|employed|generated|totaled|totalled|"
    r"posted|recycled|collected|registered|found|signed|set\s+up|established|brought|put|gave|offered|"
    r"contributed|shipped|handled|covered|benefited|benefitted|attracted|served|was|were|grew|rose|jumped|"
    r"surged|increased|accounted|exempted|announced\s+(?=[\w\s-]*\d))",
    r"as\s+of",
    r"so\s+far",
    r"to\s+date",
    r"in\s+the\s+past",
    r"over\s+the\s+(?:past|last)",
    r"last\s+year",
    r"since\s+(?:19|20)\d\d",
    r"from\s+\w+\s+(?:19|20)\d\d\s+to",
]
# Every alternative starts at a word boundary (or at the apostrophe of "'ll"); testing that once
# up front, instead of in each of the ~70 alternatives at every character, makes the scan ~5x faster.
_CUE_RE = re.compile(
    r"(?:\b|(?=['’]))(?:"
    + "|".join(
        [rf"(?P<rev>{_REVISION_CUE}\b)"]
        + [rf"(?P<fut{i}>{c}\b)" for i, c in enumerate(_FUTURE_CUES)]
        + [rf"(?P<past{i}>{c}\b)" for i, c in enumerate(_PAST_CUES)]
    )
    + ")",
    re.IGNORECASE,
)
_DENIAL_RE = re.compile(
    r"\b(?:denied|denies|deny|dismissed|rejected|refuted)\b|\bno\s+plans?\s+to\b|\b(?:will|would|does|did)\s+not\b|"
    r"\bwon['’]t\b|\bnot\s+(?:plan|intend|expect)|\b(?:not|never|yet\s+to)\s+(?:\w+\s+)?(?:disclos|confirm|announc|decid|reveal|"
    r"finali[sz])\w*|\bruled\s+out\b|\bscrapped\b|\bcancel+ed\b|\bshelved\b",
    re.IGNORECASE,
)
_INVEST_VERB_RE = re.compile(
    r"\b(?:invest\w*|spend\w*|inject\w*|pour\w*|put|plough\w*|channel\w*|allocat\w*|earmark\w*|"
    r"set\s+aside|set\s+up|establish|fund)\b",
    re.IGNORECASE,
)
# Money a company raises, receives or pays for a deal is not something it pledges to spend.
_FINANCE_RE = re.compile(
    r"\b(?:IPO|initial\s+public\s+offering|listing|share\s+sale|placement|bonds?|notes|"
    r"funding\s+round|valuation|valued\s+at|owned\s+by|held\s+by|worth\s+(?:about\s+|around\s+|over\s+)?$|buyback|repurchase|dividends?|acquisition|takeover|merger|stake)\b"
    r"|\b(?:raise|raising|receive|receiving|secure|securing|obtain|acquire|acquiring|borrow|borrowing|"
    r"repurchase|buy\s+back)\b",
    re.IGNORECASE,
)


def _is_finance(sentence: str, cue_start: int, quantity: Quantity) -> bool:
    """Capital raising or a deal around the amount, unless the amount's own verb is "invest"
    ("would raise its stake in Cainiao ... by investing 5.3 billion yuan" is a pledge)."""
    finance = list(
        _FINANCE_RE.finditer(sentence, max(cue_start, quantity.start - CUE_WINDOW), quantity.end + 60)
    )
    if not finance:
        return False
    last_before = max((m.end() for m in finance if m.start() < quantity.start), default=cue_start)
    return not _INVEST_VERB_RE.search(sentence, last_before, quantity.start)


_CONDITIONAL_RE = re.compile(
    r"\b(?:if|unless|provided\s+that|could|might|would\s+have|hypothetical(?:ly)?|in\s+theory|"
    r"were\s+it|should\s+\w+\s+be\s+approved)\b|\bmay\b"
)
# Words after the quantity that put it in the past despite a future cue further left.
_PAST_AFTER_RE = re.compile(
    r"[^.;]{0,60}?\b(?:last\s+year|so\s+far|to\s+date|in\s+the\s+past|over\s+the\s+past|ago|previously|"
    r"already|as\s+of)\b",
    re.IGNORECASE,
)
_MODAL_BEFORE = re.compile(
    r"\b(?:will|would|shall|to|can|['’]ll)\s+(?:\w+ly\s+|also\s+|further\s+|jointly\s+|then\s+)?$",
    re.IGNORECASE,
)
_REVISION_RE = re.compile(rf"\b{_REVISION_CUE}\b", re.IGNORECASE)


# How far left of a quantity its verb cue is looked for (characters). A cue further away governs
# a quantity only in run-on lists, which are capped anyway; the bound keeps the work per quantity
# constant, so long number-heavy sentences cost linear time.
CUE_WINDOW = 400


def _governing_cue(sentence: str, position: int) -> re.Match[str] | None:
    """The nearest verb cue left of ``position`` (the quantity), past or future.

    A past form that follows a modal ("will put", "to set up") is a base form, not the past.
    """
    matches, ends = _cue_matches(sentence)
    index = bisect_right(ends, position) - 1
    if index < 0 or matches[index].start() < position - CUE_WINDOW:
        return None
    return matches[index]


@lru_cache(maxsize=256)
def _cue_matches(sentence: str) -> tuple[list[re.Match[str]], list[int]]:
    """Every verb cue of ``sentence`` (past forms after a modal left out) and their ends, from one
    scan: each quantity then finds its governing cue by bisection instead of a new scan."""
    matches = [
        m
        for m in _CUE_RE.finditer(sentence)
        if not ((m.lastgroup or "").startswith("past") and _modal_before(sentence, m.start()))
    ]
    return matches, [m.end() for m in matches]


def _modal_before(sentence: str, position: int) -> bool:
    """A modal or "to" right before ``position`` ("will put", "to set up")."""
    return _MODAL_BEFORE.search(sentence, max(0, position - 40), position) is not None


def _main_future_cue(sentence: str, before: int) -> int | None:
    """Start of the nearest future cue before ``before`` in the same clause, if any."""
    clause_start = max(_clause_start(sentence, before), before - CUE_WINDOW)
    found = None
    for match in _CUE_RE.finditer(sentence, clause_start, before):
        if _is_future(match) and not re.match(r"to\s", match.group(0), re.IGNORECASE):
            found = match.start()
    return found


def _is_future(match: re.Match[str]) -> bool:
    group = match.lastgroup or ""
    return group == "rev" or group.startswith("fut")


# Where the reporting part of a sentence begins: ", the company said on Monday", "Liu told a forum".
_ATTRIBUTION_RE = re.compile(
    r"(?:,\s*|\s+)(?:[\w'’.-]+\s+){0,6}?(?:said|says|told|announced|added|noted|reported|reports|according\s+to)\b"
    r"|,\s*(?:at|during)\s+(?:a|an|the)\s+(?:[\w-]+\s+){0,3}?(?:ceremony|conference|forum|event|summit|meeting)\b",
    re.IGNORECASE,
)


def _attribution_start(sentence: str, after: int) -> int:
    match = _ATTRIBUTION_RE.search(sentence, after, after + 300)
    return match.start() if match else len(sentence)


# Editors' notes and corrections report what an article said before ("An earlier version gave
# the amount ... as RMB 10 billion"): past speech about the text, never a pledge of their own.
_CORRECTION_RE = re.compile(
    r"\beditor['’]?s\s+note\b|^\s*(?:correction|clarification)s?\s*[:\-–—]"
    r"|\b(?:an?|the)\s+(?:earlier|previous|prior|original)\s+version(?:\s+of\s+(?:this|the)\s+"
    r"(?:article|story|report|post|piece))?\s+(?:\w+\s+)?(?:said|gave|stated|reported|misstated|"
    r"incorrectly|wrongly|erroneously|misreported|put|listed|cited)\b",
    re.IGNORECASE,
)

_COMMITMENT_NOUN_AFTER = re.compile(
    r"^\s*(?:[\w-]+\s+){0,4}?(?:commitment|pledge|plan|package|investment|fund|program|programme|initiative|"
    r"expansion|budget|scheme|campaign|drive)s?\b",
    re.IGNORECASE,
)


_NAMED_COMMITMENT_AFTER = re.compile(
    r"\s*(?:[\w-]+\s+){0,2}?(?P<noun>commitment|pledge)s?\b(?!\s+(?:was|were|had|has)\b)"
    r"|\s*(?:[\w-]+\s+){0,3}?(?:fund|package|budget|plan|program|programme|initiative)\s+"
    r"(?:earmarked|dedicated|designated|set\s+aside|reserved|to\s+be\s+(?:spent|used|invested|allocated))\b",
    re.IGNORECASE,
)
_PASSIVE_FUTURE_AFTER = re.compile(
    r"^[^.;,]{0,40}?\b(?:will|would|shall|is\s+to|are\s+to|is\s+set\s+to|are\s+set\s+to|is\s+expected\s+to|"
    r"are\s+expected\s+to)\s+be\s+(?:\w+ly\s+)?\w+(?:ed|en|lt|wn|ne|ut)\b",
    re.IGNORECASE,
)


_ANNOUNCE_VERBS = r"announced|unveiled|launched|rolled\s+out|introduced|set\s+up|established|created|started"
_ANNOUNCE_BEFORE = re.compile(
    rf"\b(?P<verb>{_ANNOUNCE_VERBS})\s+(?:(?:an?\s+)?(?:investment|spending|funding|donation)s?\s+of\s+|(?:[\w-]+\s+){{0,2}}?)$",
    re.IGNORECASE,
)
_FUND_OF_BEFORE = re.compile(
    rf"\b(?P<verb>{_ANNOUNCE_VERBS}|establishing|setting\s+up|launching|creating)\s+(?:[\w'’-]+\s+){{0,5}}?"
    r"(?:fund|package|program|programme|plan|initiative)\s+"
    r"(?:of|worth)\s+(?:about\s+|around\s+|over\s+|more\s+than\s+)?$",
    re.IGNORECASE,
)
_PARTICIPLE_BEFORE = re.compile(
    r"\b(?P<verb>investing|spending|injecting|pouring|allocating|earmarking|contributing|committing|pledging)\s+"
    r"(?:a\s+total\s+of\s+)?"
    r"(?:about\s+|around\s+|over\s+|more\s+than\s+|up\s+to\s+)?$",
    re.IGNORECASE,
)
_PACKAGE_AFTER = re.compile(
    r"^\s*(?:of\s+|in\s+)?(?:[\w-]+\s+){0,2}?(?:support|subsidies|funding|investment|aid|relief|package|fund|"
    r"stimulus|plan|program|programme|initiative)\b",
    re.IGNORECASE,
)
_FORWARD_HORIZON_AFTER = re.compile(
    r"^[^.;]{0,40}?\b(?:(?:in|over|within)\s+(?:the\s+)?(?:next\s+|coming\s+)?(?:\d+|two|three|four|five|six|seven|"
    r"eight|nine|ten)\s+years|by\s+20\d\d)\b",
    re.IGNORECASE,
)


def _announced_package(sentence: str, quantity: Quantity) -> re.Match[str] | None:
    """A package for future spending announced or set up in the past tense, or None:

    "announced RMB10 billion in support", "unveiled a 10-billion-yuan support package", "set up a
    poverty relief fund of 10 billion yuan", "announced a fund, investing 10 billion RMB in five
    years". A fund set up to be spent is a commitment, whatever the tense of its announcement.
    """
    start = max(0, quantity.start - 200)
    tail = sentence[quantity.end : quantity.end + 200]
    tail = re.sub(r"^\s*\([^)]{0,40}\)", "", tail)
    match = _ANNOUNCE_BEFORE.search(sentence, start, quantity.start)
    if match is not None and (_PACKAGE_AFTER.match(tail) or _FORWARD_HORIZON_AFTER.match(tail)):
        # "announced investment of Rmb100bn ($15.12bn) over five years": spending still to come.
        return match
    match = _FUND_OF_BEFORE.search(sentence, start, quantity.start)
    if match is not None:
        return match
    match = _PARTICIPLE_BEFORE.search(sentence, start, quantity.start)
    if match is not None and _FORWARD_HORIZON_AFTER.match(tail):
        return match
    return None


def _nominal_commitment(sentence: str, quantity: Quantity) -> re.Match[str] | None:
    """The future verb of a clause whose subject is an amount-named commitment ("Jingdong's
    3-billion-yuan commitment to Sichuan will focus on"), or of a future passive ("About 3,000
    stores will be opened by JD"), if any."""
    after = sentence[quantity.end : quantity.end + 200]
    named = _NAMED_COMMITMENT_AFTER.match(sentence, quantity.end)
    if named is not None:
        # "the total 10 billion yuan commitment", "a 20-billion yuan fund earmarked for": the noun
        # itself is the commitment, whatever the tense around it.
        return named
    if not (_COMMITMENT_NOUN_AFTER.match(after) or _PASSIVE_FUTURE_AFTER.match(after)):
        return None
    for match in _CUE_RE.finditer(sentence, quantity.end, quantity.end + CUE_WINDOW):
        if (match.lastgroup or "").startswith("past") and _modal_before(sentence, match.start()):
            continue
        return match if _is_future(match) else None
    return None


# The amount is the cause of what the clause reports, not what the company commits: "This will be
# made possible by a $2bn investment", "following a $2bn investment in Lazada".
CAUSE_BEFORE = re.compile(
    r"\b(?:made\s+possible\s+by|thanks\s+to|following|after|on\s+the\s+back\s+of|backed\s+by|funded\s+by|"
    r"due\s+to|because\s+of|driven\s+by)\s+(?:a|an|the|its|their)?\s*(?:[\w-]+\s+){0,2}?$",
    re.IGNORECASE,
)
# A dated target stated as a goal: "green goals include reducing carbon emissions by 50 percent by
# 2030", "its target is to cut emissions 30% by 2025". The goal noun is the commitment.
_GOAL_BEFORE = re.compile(
    r"\b(?P<noun>goals?|targets?|ambitions?|commitments?|pledges?|aims?|objectives?)\b[^.;]{0,60}?\b"
    r"(?:reduc|cut|lower|decreas|increas|rais|rais|boost|achiev|reach|double|halv)\w*\s+(?:[\w-]+\s+){0,5}?"
    r"(?:by\s+|to\s+)?$",
    re.IGNORECASE,
)
_DATED_AFTER = re.compile(r"^[^.;]{0,40}?\bby\s+(?:the\s+end\s+of\s+)?20\d\d\b", re.IGNORECASE)


def dated_goal(sentence: str, quantity: Quantity) -> re.Match[str] | None:
    """The goal noun of a dated target ("goals include reducing emissions by 50% by 2030"), if any."""
    if not _DATED_AFTER.match(sentence[quantity.end : quantity.end + 60]):
        return None
    return _GOAL_BEFORE.search(sentence, max(0, quantity.start - 160), quantity.start)
