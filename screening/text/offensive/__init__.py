"""Offensive-term matching: the terms compiled once, a quick filter, then the full matcher.

Terms and text are compared squeezed ("sllllut" -> "slut"), with leetspeak as alternatives. A hit on a
whole word (plus an inflection: "bitchs", "p@kis") counts unless the word is used as a name ("Dick
Whittington") or sits inside an allow-listed phrase ("pussy willow"). A hit inside a longer word counts
only when that word is no word of its own and the rest of it is made of words ("squadjizz",
"BitchThis"): so "Scunthorpe", "cockpit", "Hancock", "grape" and "therapist" stay clear. Masked letters
("b*tch", "c!msh!t") match as wildcards, and deliberate misspellings ("btch", "puzzy", "tossa") by a
non-rhotic phonetic key, but only for words no dictionary knows.

One job per module:
  index         `TermIndex`: what is built once from the term list, and the word rules both paths apply
  quick_filter  `QuickFilter`: clears most texts from their plain words, without building tokens
  matcher       `OffensiveMatcher`: the quick filter, then the full matcher on the normalised tokens
  excuses       `Excuses`: a name use or an allow-listed phrase that excuses a whole-word hit
"""

from screening.text.offensive.index import TermIndex
from screening.text.offensive.matcher import OffensiveMatcher
from screening.text.offensive.quick_filter import QuickFilter

__all__ = ["OffensiveMatcher", "QuickFilter", "TermIndex"]
