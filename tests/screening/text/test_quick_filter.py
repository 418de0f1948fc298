"""The quick filter against the full matcher on the shipped term list: it may send a clean text on to
the full matcher, but it must never clear a text the full matcher flags."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.text.lexicon import default_lexicon
from screening.text.normalize import normalize
from screening.text.offensive import OffensiveMatcher
from screening.text.offensive.index import skeleton
from screening.text.screener import _default_allow, _default_terms


@pytest.fixture(scope="module")
def shipped() -> OffensiveMatcher:
    return OffensiveMatcher(_default_terms(), default_lexicon(), _default_allow())


def flagged_after_clear(off: OffensiveMatcher, text: str) -> list[str]:
    """The entries the full matcher finds in a text the quick filter cleared (must be none)."""
    if not off.quick_clear(text):
        return []
    return [f.entry for f in off.match(normalize(text), quick_checked=True)[0]]


def test_no_lexicon_word_is_cleared_that_the_full_matcher_flags(shipped: OffensiveMatcher) -> None:
    """Each word alone, capitalised, and with an inflection: a sample of the lexicon (all of it, and
    with ten endings, also holds: ~5M texts, minutes)."""
    words = sorted(default_lexicon().entries)
    sample = random.Random(3).sample(words, 6000)
    bad = [
        (text, got)
        for w in sample
        for text in (w, w.capitalize(), w + "s", w + "ing", w + "!")
        if (got := flagged_after_clear(shipped, text))
    ]
    assert not bad, bad[:10]


def _fragments() -> list[str]:
    lex = default_lexicon()
    terms = [e.term for e in _default_terms().entries]
    halves = [t[: len(t) // 2] for t in terms] + [t[len(t) // 2 :] for t in terms]
    # Cut by a joint, with or without a letter masked by it: "tr-nny", "fu-ck".
    cuts = [t[:2] + "-" + t[k:] for t in terms if len(t) >= 4 and " " not in t for k in (2, 3)]
    # The misspellings read by TermIndex.misspelled, and terms split by a space ("mast urbation").
    one_word = [t for t in terms if t.isalpha() and len(t) >= 4]
    misspelled = (
        [skeleton(t) for t in one_word]
        + [t[0] + t[2] + t[1] + t[3:] for t in one_word]
        + [t.replace("u", "v") for t in one_word if "u" in t]
        + [t[:3] + " " + t[3:] for t in one_word]
    )
    rng = random.Random(5)
    common = rng.sample(sorted(w for w in lex.entries if lex.is_common(w, 4.0) and w.isalpha()), 60)
    rare = rng.sample(sorted(lex.rare_unknown_words(3.3, min_len=3)), 60)
    return sorted(
        set(
            terms
            + halves
            + cuts
            + misspelled
            + common
            + rare
            + ["Mr", "Dick", "1995", "b*tch", "sh1t", "bal", "gak", "s-h-*-t", "t~w.a_t", "¢unt"]
        )
    )


_FRAGMENTS = _fragments()
_SEPARATORS = ["", "", " ", " ", " ", "-", "'", ".", "! ", " & ", " — ", "’"]


@given(st.lists(st.tuples(st.sampled_from(_FRAGMENTS), st.sampled_from(_SEPARATORS)), min_size=1, max_size=6))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_texts_of_term_fragments_and_words(shipped: OffensiveMatcher, parts: list[tuple[str, str]]) -> None:
    """Terms, halves of terms, common and rare words, run together or cut by separators (so joined
    words, joints, inflections and sound-alike pairs all come up)."""
    text = "".join(word + sep for word, sep in parts)
    assert not flagged_after_clear(shipped, text), text


def test_the_filter_reads_terms_through_the_index(shipped: OffensiveMatcher) -> None:
    """The quick filter and the full matcher share one TermIndex (one set of word rules)."""
    assert shipped.quick.index is shipped.index
    assert shipped.excuses.index is shipped.index


@pytest.mark.parametrize(
    "text", ["mast urbation", "you sht", "btich", "kvnt", "t~w.a_t", "s-h-*-t", "¢unt", "βitch", "a * b"]
)
def test_each_new_rule_has_its_quick_counterpart(shipped: OffensiveMatcher, text: str) -> None:
    """Texts only the newer full-path rules read (split words, dropped vowels, swaps, v for u, mixed
    joiners, masks in spelled-out words, look-alikes) are never cleared by the quick path."""
    assert not shipped.quick_clear(text), text
