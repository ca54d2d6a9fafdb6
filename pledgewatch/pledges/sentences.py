"""Sentences with their offsets: the unit every other rule works in.

Lines are paragraphs; inside a line a full stop ends a sentence unless an abbreviation, an
initial, a company suffix or a number says otherwise (word lists in ``data/sentences.json``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pledgewatch.pledges._data import load

_TABLES = load("sentences")
_ABBREVIATIONS = frozenset(_TABLES["abbreviations"])
# Company suffixes end a sentence only when a typical sentence opener follows.
_COMPANY_SUFFIXES = frozenset(_TABLES["company_suffixes"])
SENTENCE_OPENERS = frozenset(_TABLES["sentence_openers"])
_SENTENCE_OPENERS = SENTENCE_OPENERS


@dataclass(frozen=True)
class Sentence:
    text: str
    index: int
    start: int
    end: int


_BOUNDARY = re.compile(r"[.!?]+[\"”’')\]]*(?=\s+[\"“‘'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with their character offsets in ``text``.

    Lines are paragraphs (the text layer of an article keeps one paragraph per line). Inside a
    line, a full stop ends a sentence unless it belongs to an abbreviation ("No. 1", "Sept. 30"),
    an initial, a company suffix followed by more of the name ("JD.com Inc. said") or a number
    ("$3.12 bn").
    """
    sentences: list[Sentence] = []
    for line in re.finditer(r"[^\n]+", text):
        base = line.start()
        segment = line.group(0)
        start = 0
        for boundary in _BOUNDARY.finditer(segment):
            dot = boundary.start()
            word_match = re.search(r"([\w.'&-]+)$", segment[start:dot])
            word = word_match.group(1) if word_match else ""
            lower = word.lower().rstrip(".")
            if boundary.group(0).startswith(".") and boundary.group(0) == "." * len(boundary.group(0)):
                if lower in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):
                    continue
                if lower in _COMPANY_SUFFIXES:
                    following = re.match(r"\s+[\"“]?(\w+)", segment[boundary.end() :])
                    if not following or following.group(1) not in _SENTENCE_OPENERS:
                        continue
            end = boundary.end()
            _append(sentences, text, base + start, base + end)
            start = end
        _append(sentences, text, base + start, base + len(segment))
    return sentences


def _append(sentences: list[Sentence], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end - start < 2:
        return
    sentences.append(Sentence(text[start:end], len(sentences), start, end))


_CLAUSE_BOUNDARY = re.compile(r"[;:“”\"]|\b(?:that|which|while|whereas|but|after|before)\b")


def clause_start(sentence: str, position: int) -> int:
    """Where the clause around ``position`` begins: after "that", a semicolon or an opening quote."""
    # Looked for within the 400 characters before ``position``: a longer clause starts there.
    window = max(0, position - 400)
    best = window
    for match in _CLAUSE_BOUNDARY.finditer(sentence, window, position):
        if match.group(0).lower() == "which":
            # A relative clause already closed by a comma ("X, which opened ..., plans to") is
            # parenthetical: the clause goes on from before it.
            if "," in sentence[match.end() : position]:
                continue
            best = match.start()
        else:
            best = match.end()
    return best
