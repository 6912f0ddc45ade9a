"""Folding the ways a word can be typed: homoglyphs, full width, invisible characters, leet."""

from __future__ import annotations

import pytest

from faqbot.normalise import fold, for_embedding


@pytest.mark.parametrize("typed, folded", [
    ("dоеs zооm trаin АI оn оur mееting vidеоs?", "does zoom train AI on our meeting videos?"),
    ("dоes slаck trаin on my dаta", "does slack train on my data"),  # Cyrillic о, а
    ("ｓｌａｃｋ ｔｒａｉｎｓ", "slack trains"),  # full-width letters
    ("a\u200bd\u200bo\u200bb\u200be owns it", "adobe owns it"),  # zero-width spaces
    ("opt\u00adout\u2060now", "optoutnow"),  # soft hyphen, word joiner
    ("d0es 0pen4i s3ll my d4t4", "does openai sell my data"),
])
def test_disguised_spellings_fold_to_plain_latin(typed: str, folded: str) -> None:
    assert fold(typed) == folded


@pytest.mark.parametrize("text", [
    "Слак обучает ИИ на наших сообщениях?",  # real Russian keeps its letters
    "Ελληνικά κείμενα",
    "AES-256 and ISO 27001 in 2013",  # numbers are not leetspeak
    "a 3rd party, 2fa, 1st of May, the 90s",
    "plain English stays as it is",
])
def test_real_words_and_numbers_are_left_alone(text: str) -> None:
    assert fold(text) == text


def test_the_model_reads_link_words_not_addresses_or_markup() -> None:
    text = ("You can\u00a0[opt out](https://www.example.com/help/62931?trk=x)\u00a0from **our** "
            "use of _data_, see https://example.com/a or 4\\. Your [version\u2060](/eu/)")
    assert for_embedding(text) == "You can opt out from our use of data, see   or 4. Your version"
