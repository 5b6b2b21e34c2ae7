"""The prefix-tree word alternation the detectors build their word lists with."""

from __future__ import annotations

import re

import pytest

from streamer.redaction.detectors.address import STREET_PREFIXES, STREET_TYPES
from streamer.redaction.patterns import word_alternation


@pytest.mark.parametrize("words", [STREET_TYPES, STREET_PREFIXES, ("st", "street", "str.", "c/")])
def test_matches_exactly_the_words_given(words: tuple[str, ...]) -> None:
    tree = re.compile(word_alternation(words), re.IGNORECASE)
    plain = re.compile("|".join(sorted(map(re.escape, words), key=len, reverse=True)), re.I)
    for word in words:
        assert tree.fullmatch(word) and tree.fullmatch(word.capitalize())
    for other in ("stree", "streets", "strasse ", "", "c", "x/"):
        assert bool(tree.fullmatch(other)) == bool(plain.fullmatch(other))


def test_longer_words_are_preferred_where_both_match() -> None:
    assert re.match(word_alternation(["st", "street"]), "streets").group() == "street"


def test_special_characters_are_literal() -> None:
    pattern = re.compile(word_alternation(["a.b", "c+", "#x"]), re.VERBOSE)
    assert pattern.fullmatch("a.b") and pattern.fullmatch("c+") and pattern.fullmatch("#x")
    assert not pattern.fullmatch("axb")


def test_empty_words_are_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        word_alternation(["a", ""])
