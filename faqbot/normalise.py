"""Fold the ways one word can be typed into one spelling, before embedding and BM25.

- compatibility forms (full-width ``ｓｌａｃｋ``, ligatures) through Unicode NFKC;
- invisible characters (zero-width spaces and joiners, soft hyphens, word joiners) dropped;
- look-alike letters from another script inside a Latin word (Cyrillic ``о`` in ``dоes``)
  replaced by their Latin twins, from the Unicode confusables table
  (``confusable_homoglyphs``); a word wholly in another script is left alone;
- digits standing for letters inside a word (``d4t4``, ``0pen4i``) read as letters.

Nothing here keeps the text; it is a pure function of its argument.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from confusable_homoglyphs import confusables

#: Format characters that render as nothing but split words for a tokenizer.
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
                        "\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff]")
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a"})
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th|s)$", re.IGNORECASE)


@lru_cache(maxsize=4096)
def _latin_twin(char: str) -> str:
    """The Latin letter ``char`` is confusable with, or ``char`` itself."""
    found = confusables.is_confusable(char, preferred_aliases=["latin"], greedy=False)
    if not found:
        return char
    for glyph in found[0]["homoglyphs"]:
        twin = glyph["c"]
        if len(twin) == 1 and twin.isascii() and twin.isalpha():
            return twin
    return char


def _fold_word(word: str) -> str:
    if word.isascii():
        return _unleet(word)
    # a word whose every letter has a Latin twin is a Latin word in disguise; a genuine
    # Russian or Greek word ("обучает") has letters without one and keeps them all
    twins = "".join(_latin_twin(ch) if not ch.isascii() else ch for ch in word)
    return _unleet(twins) if all(ch.isascii() for ch in twins if ch.isalpha()) else word


def _unleet(word: str) -> str:
    """``d4t4`` → ``data``: only words mixing letters and digits, never numbers or ``3rd``."""
    if word.isalpha() or word.isdigit() or _ORDINAL.match(word):
        return word
    letters = sum(ch.isalpha() for ch in word)
    digits = sum(ch in "013457" for ch in word)
    if letters < 1 or digits < 1 or letters + digits < len(word.replace("-", "")):
        return word
    if re.search(r"\d{2,}", word) and letters < 3:  # "AES-256", "27001": real numbers
        return word
    return word.translate(_LEET)


def fold(text: str) -> str:
    """``text`` with compatibility forms, invisible characters, homoglyphs and leetspeak folded."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    if text.isascii() and not any(ch.isdigit() for ch in text):
        return text
    return _WORD.sub(lambda m: _fold_word(m.group(0)), text)


_LINK = re.compile(r"!?\[([^\]]*)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
_BARE_URL = re.compile(r"<?https?://[^\s>)]+>?")
_MARKUP = re.compile(r"(?<!\w)[*_]{1,3}(?=\S)|(?<=\S)[*_]{1,3}(?!\w)|`+|^#{1,6}\s+"
                     r"|\\(?=[.\-*_#()\[\]])", re.MULTILINE)


def for_embedding(text: str) -> str:
    """What the model and BM25 read of a passage: Markdown links reduced to their words,
    bare addresses, emphasis marks and escapes dropped, characters folded (the passage shown
    and cited keeps its text as written)."""
    text = _LINK.sub(r"\1", text)
    text = _BARE_URL.sub(" ", text)
    text = _MARKUP.sub("", text)
    return fold(text.replace("\u00a0", " "))
