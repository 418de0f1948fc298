"""Trademark and offensive matching through TextScreener, on small lists written for each test."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.findings import FindingKind, Severity, Verdict, VerdictKind
from screening.text import TextScreener, load_allow, load_marks, load_terms
from screening.text.lexicon import default_lexicon

MARKS = """id,mark
netflix,Netflix
tesla,Tesla
reebok,Reebok
cocacola,Coca-Cola
newbalance,New Balance
apple,Apple
spotify,Spotify
playstation,PlayStation
playstation5,PlayStation 5
uber,Uber
mcdonalds,McDonald's
whatsapp,WhatsApp
"""
TERMS = """id,term,category
fuck,fuck,profanity
shit,shit,profanity
cock,cock,sexual
bitch,bitch,insult
cunt,cunt,insult
rape,rape,hate
rapist,rapist,hate
dick,dick,insult
ass,ass,insult
jizz,jizz,sexual
spic,spic,slur
raping,raping,hate
pussy,pussy,sexual
white power,white power,hate
"""


@pytest.fixture(scope="module")
def screener(tmp_path_factory: pytest.TempPathFactory) -> TextScreener:
    d = tmp_path_factory.mktemp("lists")
    (d / "marks.csv").write_text(MARKS, encoding="utf-8")
    (d / "terms.csv").write_text(TERMS, encoding="utf-8")
    (d / "allow.txt").write_text("pussy willow\n", encoding="utf-8")
    return TextScreener(
        load_marks(d / "marks.csv"),
        load_terms(d / "terms.csv"),
        load_allow(d / "allow.txt"),
        default_lexicon(),
    )


def brands(v: Verdict) -> list[str]:
    return sorted({f.entry for f in v.findings if f.kind is FindingKind.TRADEMARK})


def offensive(v: Verdict) -> bool:
    return any(f.kind is FindingKind.OFFENSIVE for f in v.findings)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Keep calm and love Netflix", ["netflix"]),
        ("Ｎｅｔｆｌｉｘ fan", ["netflix"]),
        ("Nteflix addict", ["netflix"]),  # transposition
        ("N e t f l i x", ["netflix"]),  # separators
        ("Spotiphie forever", ["spotify"]),  # sound-alike
        ("Reeboc trainers", ["reebok"]),
        ("7e5la owner", ["tesla"]),  # leetspeak
        ("Official Coca-Cola merch", ["cocacola"]),
        ("new balance shoes", []),  # a phrase of ordinary words, not written as a name
        ("New Balance trainers", ["newbalance"]),
        ("cocacola", ["cocacola"]),  # joined form is a name in itself
        ("WhatsApps", ["whatsapp"]),
        ("Will trade brother for McDonald's", ["mcdonalds"]),
        ("PlayStation 5 forever", ["playstation5"]),  # the longer match wins
        ("A new balance of work and play", []),
        ("apple pie for Grandma", []),  # dictionary-word mark without a brand signal
        ("Apple® store gift", ["apple"]),
        ("Official Apple merch", ["apple"]),
        ("Little Tessla — 2015", []),  # one added letter in a short mark is another word
        ("Happy Retirement Huber!", []),
        ("Welcome, Megan", []),
    ],
)
def test_trademarks(screener: TextScreener, text: str, expected: list[str]) -> None:
    assert brands(screener.screen_text(text)) == expected


def test_trademark_finding_shape(screener: TextScreener) -> None:
    text = "Hi Ｎｅｔｆｌｉｘ!"
    v = screener.screen_text(text)
    (f,) = v.findings
    assert f.span is not None
    assert text[f.span[0] : f.span[1]] == "Ｎｅｔｆｌｉｘ"
    assert f.label == "Netflix"
    assert f.severity is Severity.BLOCK
    assert f.score == 1.0
    assert f.list_ref.startswith("marks@")
    assert v.kind is VerdictKind.BLOCKED
    fuzzy = screener.screen_text("Netflic").findings[0]
    assert fuzzy.severity is Severity.REVIEW
    assert 0 < fuzzy.score < 1
    assert screener.screen_text("Apple® store").findings[0].severity is Severity.REVIEW


@pytest.mark.parametrize(
    "text",
    [
        "a$$hole",  # not listed
        "Greetings from Scunthorpe",
        "Cockpit tour",
        "Dr Erin Hancock",
        "Grape harvest",
        "My therapist rocks",
        "assassin's creed",
        "Dick Whittington panto",
        "Mr & Mrs Dick",
        "Pussy willow bouquet",
        "Class of 1995",
        "Hi Bob!",
        "Cute as a button",
        "rapping all night",  # more repeated letters than the term, and a word of its own
        "Straight A-s, café",  # a lone "s" after a joint is an ending, on the full path too
    ],
)
def test_offensive_hard_negatives(screener: TextScreener, text: str) -> None:
    assert not offensive(screener.screen_text(text)), text


@pytest.mark.parametrize(
    "text",
    [
        "f u c k this",
        "sh1t happens",
        "you b*tch",
        "c!nt",
        "Cοck",  # Greek omicron
        "s\u200bh\u200bi\u200bt",
        "fuuuuuck",
        "Team bitchhead",
        "BitchThis",
        "squadjizz",
        "White p\u200dower club",
        "whit* power club",
        "Mr & Mrs D i c k",
        "stop the rapist",
        "btch please",  # vowels dropped
        "Puzzy",  # sound-alike
        "r-pe",
    ],
)
def test_offensive_positives(screener: TextScreener, text: str) -> None:
    assert offensive(screener.screen_text(text)), text


def test_offensive_finding_shape(screener: TextScreener) -> None:
    text = "you sh1t, stop the r4pe"
    v = screener.screen_text(text)
    got = {(f.entry, text[f.span[0] : f.span[1]], f.category, f.severity) for f in v.findings if f.span}
    assert ("shit", "sh1t", "profanity", Severity.REVIEW) in got
    assert ("rape", "r4pe", "hate", Severity.BLOCK) in got
    assert v.kind is VerdictKind.BLOCKED


def test_quick_path_never_hides_a_finding(screener: TextScreener) -> None:
    """The token-free quick path may only clear what the full path clears."""
    off = screener._offensive
    assert off is not None
    samples = [
        "Happy Birthday Cameron!",
        "Dorothy's cockatoo",
        "pak! go home",
        "Coca-Cola lover",
        "tr-nny",
        "Team squadjizz",
        "what a dick",
        "Scunthorpe",
        "Class of 1984 — Linda",
    ]
    from screening.text.normalize import normalize

    for text in samples:
        if off.quick_clear(text):
            findings, _ = off.match(normalize(text))
            assert not findings, text


def test_no_lists_means_clear(tmp_path: Path) -> None:
    s = TextScreener(None, None, None, default_lexicon())
    assert s.screen_text("anything at all").kind is VerdictKind.CLEAR


@pytest.mark.parametrize("text", ["pakis go home", "bitchs everywhere", "dicks out"])
def test_inflected_terms_are_not_cleared_by_the_quick_path(screener: TextScreener, text: str) -> None:
    assert offensive(screener.screen_text(text.replace("pakis", "shits")))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("In loving memory of Carolyn Chrysler, 1978", []),  # a surname after a first name
        ("Welcome to the Chrysler family", []),
        ("Chrysler lover", ["chrysler"]),
    ],
)
def test_marks_used_as_names(tmp_path: Path, text: str, expected: list[str]) -> None:
    from screening.text import MarkList

    lex = default_lexicon()
    assert lex.is_surname("chrysler")  # the rule needs the lexicon to know the name
    s = TextScreener(MarkList("m", "1", ["chrysler"], ["Chrysler"], [None]), None, None, lex)
    assert brands(s.screen_text(text)) == expected


@pytest.mark.parametrize(
    "text", ["Property of Corinne Spicer", "Welcome to the Boner house", "Property of Dick Moody"]
)
def test_terms_used_as_surnames(screener: TextScreener, text: str) -> None:
    assert not offensive(screener.screen_text(text.replace("Boner", "Dick")))


_VOCAB = [
    "♥",
    "·",
    "bitсh",
    "ｆｕｃｋ",
    "s\u200bhit",
    "dîck",
    "！",
    "™",
    "happy",
    "birthday",
    "Bob!",
    "pak!",
    "sh1t",
    "cockpit",
    "Scunthorpe",
    "shits",
    "bitchhead",
    "Bitch",
    "squad",
    "tr-nny",
    "r-pe",
    "f",
    "u",
    "c",
    "k",
    "Dick",
    "Moody",
    "asses",
    "as",
    "class",
    "Ass",
    "pussy",
    "willow",
    "jizz",
    "jiz",
    "white",
    "power",
    "whit*",
    "Coca-Cola",
    "Cameron's",
    "1995",
    "40th",
    "btch",
    "Puzzy",
    "kock",
    "—",
    ",",
    "&",
    "cocks",
    "Hancock",
    "therapist",
    "rapist",
    "DickKing",
]


@given(st.lists(st.sampled_from(_VOCAB), min_size=1, max_size=8))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_quick_path_agrees_with_full_path(screener: TextScreener, words: list[str]) -> None:
    from screening.text.normalize import normalize

    off = screener._offensive
    assert off is not None
    text = " ".join(words)
    if off.quick_clear(text):
        # the full path, bypassing the quick check
        findings = [f for f in off.match(normalize(text + " \u00e9"))[0] if f.span and f.span[1] <= len(text)]
        assert not findings, text


def test_the_word_memo_keeps_public_vocabulary_only(screener: TextScreener) -> None:
    """The quick path memoises verdicts on lexicon words; a customer's own rare word (a name, a code)
    must not outlive the call in the process."""
    off = screener._offensive
    assert off is not None
    canary = "zqxcanaryvwk"
    assert off.quick_clear(f"Happy birthday {canary} love from grandma")
    assert not off.quick.remembers(canary)
    assert all(off.quick.remembers(w) for w in ("happy", "birthday", "love", "grandma"))
    assert off.quick_clear(f"Happy birthday {canary} love from grandma")  # the memo changes no verdict


def test_the_build_time_judgement_agrees_with_judging_on_first_sight(screener: TextScreener) -> None:
    """The quick path passes over `plain` words and takes `rare_clear` words as clear without a look:
    both sets must say what judge_word would, word for word."""
    import random

    off = screener._offensive
    assert off is not None
    quick = off.quick
    rng = random.Random(7)
    sample = rng.sample(sorted(quick.plain), 3000) + rng.sample(sorted(quick.rare_clear), 3000)
    for w in sample:
        info = quick.judge_word(w)
        assert info.clear, w
        assert info.rare == (w in quick.rare_clear), w


def test_the_shipped_lexicon_carries_the_current_sound_keys() -> None:
    """The keys are computed at build time (scripts/build_text_lists.py --rekey); a change to the
    phonetic key without a rekey would make the matcher disagree with itself."""
    from screening.text.lexicon import sound_key

    lex = default_lexicon()
    assert len(lex.sounds) == len(lex.entries)
    stale = [w for w, key in lex.sounds.items() if key != (sound_key(w) or "-")]
    assert not stale, stale[:10]


def test_a_lexicon_without_sound_keys_still_answers(tmp_path: Path) -> None:
    import gzip

    from screening.text.lexicon import Lexicon, sound_key

    path = tmp_path / "lex.txt.gz"
    path.write_bytes(gzip.compress(b"tosser 320\nhello 800\n"))
    lex = Lexicon.load(path)
    assert lex.zipf("hello") == 50.0 / 10
    assert lex.sound("tosser") == sound_key("tosser") == "TS"


@pytest.mark.parametrize(
    ("text", "entry"),
    [("Happy birthday bal gak", "ldnoobw:ball_gag"), ("the blo jobb king", "ldnoobw:blow_job")],
)
def test_two_words_that_sound_like_a_term_of_two(text: str, entry: str) -> None:
    """The pair filter (key head and tail) must let these through to the sound-alike test."""
    from screening.text.screener import _default_allow, _default_terms

    shipped = TextScreener(None, _default_terms(), _default_allow(), default_lexicon())
    off = shipped._offensive
    assert off is not None
    assert not off.quick_clear(text)
    assert entry in {f.entry for f in shipped.screen_text(text).findings}
