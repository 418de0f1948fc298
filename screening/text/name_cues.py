"""Words that show a capitalised word is used as a person's name, shared by the trademark and the
offensive matchers: "Mrs Weiner", "Dr Hancock" (an honorific before it), "the Bose family", "the Hooker
house" (a family word after a surname). One list for both, so the two sides read names alike.
"""

from __future__ import annotations

HONORIFICS = frozenset(
    {"mr", "mrs", "ms", "miss", "dr", "sir", "dame", "lord", "lady", "uncle", "aunt", "auntie"}
)
FAMILY_WORDS = frozenset({"family", "house", "household", "clan", "residence", "reunion"})
# Words a first name follows in personalisation: "Happy Birthday Kimi", "love, Zola", "for Dacia".
NAME_SLOT_WORDS = frozenset(
    {
        "birthday",
        "love",
        "dear",
        "from",
        "to",
        "baby",
        "congratulations",
        "congrats",
        "christmas",
        "welcome",
        "thanks",
        "thank",
        "hi",
        "hello",
        "anniversary",
        "married",
    }
)
