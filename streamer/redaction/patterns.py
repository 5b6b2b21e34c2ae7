"""Building blocks for the detectors' regular expressions."""

from __future__ import annotations

import re
from collections.abc import Iterable

#: A character that joins a number or code written next to it into a longer word: a
#: letter, digit or underscore (``\w``), except kana, CJK ideographs and hangul, since
#: Japanese, Chinese and Korean put no space between words and numbers
#: (``電話番号は03-1234-5678です``, ``カード番号4111111111111111``). In ASCII text it is ``\w``.
JOINING = r"[^\W\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]"


def word_alternation(words: Iterable[str]) -> str:
    """A non-capturing group matching any of ``words`` literally, as a prefix tree.

    ``re`` tries the branches of ``(?:street|st|strasse|...)`` one after another at
    every position it starts from; the tree form (``(?:st(?:r(?:eet|asse))?|...)``)
    rules a position out at its first character instead, which makes long word lists
    several times faster. It matches the same strings (longer ones first).
    """
    tree: dict[str, dict] = {}
    for word in set(words):
        if not word:
            raise ValueError("word_alternation needs non-empty words")
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return f"(?:{_render(tree)})"


def _render(node: dict[str, dict]) -> str:
    branches = [re.escape(char) + _render(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = "(?:" + "|".join(branches) + ")" if len(branches) > 1 else branches[0]
    if "" in node:  # a word ends here, and longer ones go on
        return f"(?:{body})?"
    return body
