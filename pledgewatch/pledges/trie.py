"""One regex for many names, factored by common prefix (a trie).

Python's ``re`` tries the alternatives of ``a|b|c...`` one by one at every position; with
hundreds of company aliases or place names that is most of the detector's time. Factored by
prefix, the engine follows one branch per next character, so a list of names costs about as
much as one of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable


def trie_pattern(names: Iterable[str], char_pattern: Callable[[str], str] = re.escape) -> str:
    """A non-capturing regex matching exactly ``names``, longest first at each branch.

    ``char_pattern`` renders one character (for example a space as ``\\s+``).
    """
    trie: dict[str, dict] = {}
    for name in names:
        node = trie
        for char in name:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [char_pattern(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # Greedy optional: the longer name wins, as in a longest-first alternation.
        return f"(?:{body})?" if "" in node else body

    return build(trie)
