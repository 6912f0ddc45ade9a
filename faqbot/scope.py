"""What the documents can serve, told apart from what they can't, before any ranking.

Four checks, each a pure function of the question and the knowledge in service:

- :func:`asks_to_act`: a request to post, send or write something for someone;
- :func:`strip_instructions`: "ignore previous instructions", "SYSTEM: …" and chat-role
  wrappers taken off, so a real question hidden behind them is still answered;
- :func:`Subjects.uncovered`: the question names a company or product (``data/organisations.yml``)
  that the documents do not cover, and none that they do;
- :func:`foreign_language`: the question is written in a language other than the documents'.

Nothing here keeps the question.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection, Container, Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

#: Why a question was declined; None on an answer.
DeclineReason = Literal["out_of_scope", "action", "other_subject", "not_covered", "language",
                        "empty"]

_CHANNEL = r"(?:#[\w-]+|<#[A-Z0-9]+(?:\|[^>]*)?>|(?:the|this|that|our|a|every|all)\s+channels?\b)"
_ACT_VERB = (r"(?:post|send|share|announce|forward|broadcast|publish|message|dm|ping|notify|"
             r"tell|email|reply|respond)")
_ACTIONS = [
    # "post in #announcements: …", "send this to the team channel", "dm everyone that …"
    re.compile(rf"^\W*(?:(?:please|pls|can you|could you|would you|go|now)\W+)*{_ACT_VERB}\b"
               rf"(?=.*(?:{_CHANNEL}|\beveryone\b|\b(?:the|my|our)\s+team\b|@\w+|<@|"
               rf"\bon my behalf\b|\bfor me\b))", re.IGNORECASE | re.DOTALL),
    re.compile(r"\b(?:do it|do this|post it|send it)\s+(?:right\s+)?(?:away|now|immediately)\b",
               re.IGNORECASE),
    re.compile(rf"\bon my behalf\b|\b{_ACT_VERB}\s+(?:this|that|it)\s+(?:in|to|on)\s+"
               rf"{_CHANNEL}", re.IGNORECASE),
    # tasks: write, draft, summarise, translate … something that is not a question
    re.compile(r"^\W*(?:(?:please|pls|can you|could you|would you|hey|hi|ok)\W+)*"
               r"(?:write|draft|compose|summari[sz]e|translate|rewrite|paraphrase|repeat|"
               r"generate|create|output|print|list all|dump|calculate|compute|tl;?dr)\b",
               re.IGNORECASE),
]
_INSTRUCTIONS = [
    re.compile(r"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+|the\s+|your\s+)*"
               r"(?:previous|prior|above|earlier|preceding|system)?\s*"
               r"(?:instructions?|prompts?|rules?|guidelines?)\b[^.?!\n]*[.?!\n]?",
               re.IGNORECASE),
    re.compile(r"\b(?:system|developer|admin)\s*(?:mode|prompt)?\s*:\s*[^.?!\n]*[.?!\n]?",
               re.IGNORECASE),
    re.compile(r"\b(?:user|assistant|human)\s*:\s*", re.IGNORECASE),
    re.compile(r"\byou are (?:now )?(?:an? |in )?[\w -]{0,40}(?:bot|assistant|mode|AI|GPT)\b"
               r"[^.?!\n]*[.?!\n]?", re.IGNORECASE),
    re.compile(r'\{\s*"role"\s*:.*?\}', re.IGNORECASE | re.DOTALL),
    re.compile(r"\b(?:developer mode|jailbreak|DAN mode)\b[^.?!\n]*[.?!\n]?", re.IGNORECASE),
]


@lru_cache(maxsize=1)
def _default_examples() -> tuple[str, ...]:
    text = resources.files("faqbot").joinpath("data/out_of_scope.yml").read_text(encoding="utf-8")
    return tuple(yaml.safe_load(text)["out_of_scope"])


def out_of_scope_examples(folder_examples: Iterable[str]) -> list[str]:
    """The shipped examples of what faqbot cannot serve, then the folder's own, each once."""
    seen: set[str] = set()
    out = []
    for example in [*_default_examples(), *folder_examples]:
        key = " ".join(example.casefold().split())
        if key not in seen:
            seen.add(key)
            out.append(example)
    return out


def defaults_digest() -> str:
    """A short digest of the shipped examples: an index built with others is stale."""
    joined = "\n".join(_default_examples()).encode()
    return hashlib.sha256(joined).hexdigest()[:8]


def asks_to_act(question: str) -> bool:
    """True for requests to post, send or write something rather than questions to answer."""
    return any(pattern.search(question) for pattern in _ACTIONS)


def strip_instructions(question: str) -> tuple[str, bool]:
    """The question without instructions aimed at the bot, and whether any were found."""
    text, found = question, False
    for pattern in _INSTRUCTIONS:
        text, n = pattern.subn(" ", text)
        found = found or bool(n)
    return " ".join(text.split()), found


@dataclass(frozen=True)
class _Names:
    """Every company name and product as two alternations (one scan of a text each): the
    names matched in any case, and the everyday words matched only as spelled."""

    any_case: re.Pattern[str]
    exact_case: re.Pattern[str]
    organisation: dict[str, str]  # a matched name, folded (spaces and hyphens out) -> company
    names_of: dict[str, tuple[str, ...]]  # company -> its names matched in any case

    @staticmethod
    def key(name: str) -> str:
        return re.sub(r"[\s-]+", "", name.removesuffix("'s")).casefold()


@lru_cache(maxsize=1)
def _names() -> _Names:
    data = yaml.safe_load(
        resources.files("faqbot").joinpath("data/organisations.yml").read_text(encoding="utf-8"))
    any_case: list[str] = []
    exact_case: list[str] = []
    organisation: dict[str, str] = {}
    names_of: dict[str, tuple[str, ...]] = {}
    for company, aliases in data["organisations"].items():
        exact = {a.removeprefix("Exact:") for a in aliases if a.startswith("Exact:")}
        for alias in ([] if company in exact else [company]) + list(aliases):
            word = alias.removeprefix("Exact:")
            body = r"[\s-]?".join(re.escape(part) for part in word.split())
            (exact_case if alias.startswith("Exact:") else any_case).append(body)
            organisation[_Names.key(word)] = company
            if not alias.startswith("Exact:"):
                names_of[company] = (*names_of.get(company, ()), word)
    # longest first, so "Microsoft Teams" wins over "Microsoft" where both could match
    def alternation(bodies: list[str], flags: int) -> re.Pattern[str]:
        joined = "|".join(sorted(bodies, key=len, reverse=True))
        return re.compile(rf"(?<![\w.])(?:{joined})(?:'s)?(?![\w])", flags)

    return _Names(alternation(any_case, re.IGNORECASE), alternation(exact_case, 0), organisation,
                  names_of)


def _name_matches(text: str) -> list[str]:
    names = _names()
    return [m.group(0) for pattern in (names.any_case, names.exact_case)
            for m in pattern.finditer(text)]


def organisations_in(text: str) -> set[str]:
    """The companies ``text`` names, by themselves or by one of their products."""
    names = _names()
    return {names.organisation[_Names.key(found)] for found in _name_matches(text)}


def _name_spans(text: str, organisations: Container[str]) -> list[tuple[int, int, str]]:
    """Where ``text`` names one of ``organisations`` (the company or one of its products):
    (start, end, company), in order, without overlaps (the two alternations may overlap)."""
    names = _names()
    found = sorted((m.start(), m.end(), names.organisation[_Names.key(m.group(0))])
                   for pattern in (names.any_case, names.exact_case)
                   for m in pattern.finditer(text))
    spans: list[tuple[int, int, str]] = []
    for begin, end, company in found:
        if company in organisations and (not spans or begin >= spans[-1][1]):
            spans.append((begin, end, company))
    return spans


def _replace_spans(text: str, spans: list[tuple[int, int, str]], by: dict[str, str]) -> str:
    """``text`` with each span replaced by ``by`` of its company."""
    parts, start = [], 0
    for begin, end, company in spans:
        parts += [text[start:begin], by[company]]
        start = end
    parts.append(text[start:])
    return "".join(parts)


def without_names(text: str, organisations: Container[str]) -> str:
    """``text`` with every name of ``organisations`` (the company or one of its products) cut
    out. Inside documents about a company its name is everywhere, so as a keyword it only
    favours passages that happen to repeat it; the subject bonus gives the documents about
    it their due instead."""
    spans = _name_spans(text, organisations)
    if not spans:
        return text
    cut = _replace_spans(text, spans, dict.fromkeys((c for _, _, c in spans), " "))
    return re.sub(r"\s{2,}", " ", cut).strip()


def company_for_product(text: str, organisations: Collection[str]) -> str:
    """``text`` with each product name of ``organisations`` replaced by its company's name,
    unless the text names the company already: "can the whole team share a chatgpt login?"
    becomes "… share a OpenAI login?" for the pooled vector. The documents call the company
    by its name, and an embedding model trained before a product existed reads its name as
    the words it is made of ("chat")."""
    unnamed = {c for c in organisations
               if not re.search(rf"(?<!\w){re.escape(c)}(?!\w)", text, re.IGNORECASE)}
    spans = _name_spans(text, unnamed) if unnamed else []
    return _replace_spans(text, spans, {c: c for c in unnamed}) if spans else text


class Subjects:
    """The companies the documents in service are about.

    A company is covered when its name or a product of it appears in a document's title, file
    name or address, or in at least ``min_passages`` passages (a company policy that names
    the tools it allows covers them). ``passages_naming(name)`` counts the passages holding
    every word of a name (the keyword index answers it from its postings, so nothing scans
    the passages' text); it is asked lazily, only for companies a question names.
    """

    def __init__(self, titles: Iterable[str], passages_naming: Callable[[str], int],
                 min_passages: int = 3) -> None:
        named: set[str] = set()
        for title in titles:
            named |= organisations_in(title)
        self.named = frozenset(named)
        self._passages_naming = passages_naming
        self._min_passages = min_passages
        self._covered: dict[str, bool] = {}  # company -> covered, filled as questions ask

    def covers(self, organisation: str) -> bool:
        """Whether the documents cover ``organisation`` (by title, or by enough passages)."""
        if organisation in self.named:
            return True
        found = self._covered.get(organisation)
        if found is None:
            names = _names().names_of.get(organisation, ())
            found = any(self._passages_naming(name) >= self._min_passages for name in names)
            self._covered[organisation] = found  # one bool per company: a benign race
        return found

    @staticmethod
    def of_labels(doc: str, title: str, url: str | None) -> str:
        """What is read of a document for its subjects: title, file name, address host."""
        host = urlsplit(url).hostname or "" if url else ""
        stem = re.sub(r"[-_/.]+", " ", doc.rsplit(".", 1)[0])
        host_words = re.sub(r"\.(com|org|net|io|ai|co|us|eu|uk)$|^www\.", "", host)
        return f"{title} {stem} {host_words.replace('.', ' ')}"

    def uncovered(self, question: str) -> set[str]:
        """The companies the question asks about that the documents don't cover; empty when
        it names none, or names one the documents cover."""
        asked = organisations_in(question)
        if not asked or any(self.covers(organisation) for organisation in asked):
            return set()
        return asked


_SPECIFIC = re.compile(r"(?<![\w])(?:[A-Za-z]*[A-Z][A-Za-z]*[A-Z][A-Za-z]*[A-Z][A-Za-z]*|\d{3,})"
                       r"(?![\w])")


#: A run of capitalised words ("Child Sexual Abuse Material", "Patent and Trademark Office"):
#: where the documents spell out what an acronym stands for. Words in capitals are shouted
#: legal text, not names, and do not count.
_CAPITALISED_RUN = re.compile(r"\b[A-Z][a-z][\w'’]*(?:[\s-]+(?:(?:of|and|for|the|on|in|to)\s+)?"
                              r"[A-Z][a-z][\w'’]*)+")
_SMALL_WORDS = frozenset({"of", "and", "for", "the", "on", "in", "to"})


def initialisms(texts: Iterable[str]) -> frozenset[str]:
    """The acronyms of three letters or more that ``texts`` spell out: the initials of each
    run of capitalised words, small words left out ("Child Sexual Abuse Material" gives
    CSAM), and of the run without its first word, which is often the sentence's ("Irish
    Data Protection Commission" gives DPC). Shorter parts of a run don't count: the
    initials of any few words would make nearly every acronym "known"."""
    found: set[str] = set()
    for text in texts:
        for run in _CAPITALISED_RUN.finditer(text):
            initials = "".join(w[0] for w in re.split(r"[\s-]+", run.group(0))
                               if w not in _SMALL_WORDS).upper()
            found.update(i for i in (initials, initials[1:]) if len(i) >= 3)
    return frozenset(found)


#: A name written with a capital inside it, then a small letter ("InMail", "TeamLink",
#: "iCloud"): how products and features are spelled, and how ordinary words are not. A
#: capital at the end ("SaaS", "iOS") is an acronym's, and an address's parts
#: ("DataProtection.Officer@…") are not names.
_INNER_CAPITAL = re.compile(r"(?<![\w.@/])[A-Za-z]*[a-z][A-Z][a-z][A-Za-z]*(?![\w@/]|\.\w)")
_WORD = re.compile(r"[A-Za-z]+")
#: Words spelled with a capital inside that name no one's product.
_GENERIC_NAMES = frozenset({"wifi", "javascript", "typescript", "ebook", "ecommerce",
                            "email", "youtube"})


def product_terms(texts: Iterable[tuple[str, frozenset[str]]], known_words: Container[str] = (),
                  min_passages: int = 2) -> dict[str, str]:
    """The product and feature names the documents use for one company only.

    From (passage text, the companies its document is about) pairs: each word with a
    capital inside it ("InMail") that at least ``min_passages`` passages hold, all of them
    in documents about the same single company, mapped (folded, without a plural "s") to
    that company. A question that says "InMails" is about LinkedIn although it does not
    say so. Not: words the model knows in lower case ("iTunes") or a few everyday ones
    ("WiFi"), and names in ``organisations.yml``, which :func:`organisations_in` finds.
    """
    seen: dict[str, set[str | None]] = {}
    count: dict[str, int] = {}
    for text, organisations in texts:
        found = {m.group(0).casefold() for m in _INNER_CAPITAL.finditer(text)}
        for term in {t.removesuffix("s") for t in found}:  # "InMail" and "InMails" are one
            seen.setdefault(term, set()).update(organisations if len(organisations) == 1
                                                else {None})
            count[term] = count.get(term, 0) + 1
    terms = {}
    for term, companies in seen.items():
        forms = (term, f"{term}s")
        if (len(companies) == 1 and None not in companies and count[term] >= min_passages
                and not any(f in known_words or f in _GENERIC_NAMES or organisations_in(f)
                            for f in forms)):
            (company,) = companies
            assert company is not None
            terms[term] = company
    return terms


def terms_in(question: str, terms: dict[str, str]) -> set[str]:
    """The companies whose product names (:func:`product_terms`) ``question`` uses, in any
    case and in the plural."""
    if not terms:
        return set()
    found = set()
    for match in _WORD.finditer(question):
        word = match.group(0).casefold()
        company = terms.get(word.removesuffix("s")) or terms.get(word)
        if company is not None:
            found.add(company)
    return found


_QUANTITY_QUESTION = re.compile(r"\bhow\s+(?:many|much|fast|soon|quickly|often)\b", re.I)
_QUANTITY = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|forty|fifty|sixty|ninety|hundreds?|thousands?|millions?|billions?|half|once|twice|"
    r"dozens?|daily|weekly|monthly|annually|yearly|immediately|promptly)\b", re.I)


def asks_for_quantity(question: str) -> bool:
    """Whether the question asks for a number, an amount or a speed ("how many", "how
    much", "how fast", "how often")."""
    return bool(_QUANTITY_QUESTION.search(question))


def states_quantity(text: str) -> bool:
    """Whether a passage states any number, amount or frequency a quantity question needs."""
    return bool(_QUANTITY.search(text))


_DIGIT_RUNS = re.compile(r"\+?\d[\d().-]*(?:\s+[\d().-]*\d){2,}")


def specific_terms(question: str, words: Container[str] = ()) -> list[str]:
    """Words that name one precise thing: acronyms of three capitals or more (``SOC``,
    ``HIPAA``, ``FedRAMP``) and numbers of three digits or more (``256``, ``2013``). A word
    in capitals that ``words`` (a model's vocabulary) knows in lower case and that is
    longer than three letters is a shouted word ("DROP TABLE"), not an acronym, and a
    plural acronym ("PSDs") is a common noun. When the
    documents contain none of a question's specific words, they are unlikely to answer it
    ("is it SOC 2 certified?")."""
    found = []
    question = _DIGIT_RUNS.sub(" ", question)  # card and phone numbers are not topics
    for match in _SPECIFIC.finditer(question):
        term = match.group(0)
        if len(term) > 3 and term.isalpha() and term.casefold() in words:
            continue
        if len(term) > 3 and term.endswith("s") and term[:-1].isupper():
            continue  # a plural ("PSDs", "APIs") names a kind of thing, not one standard
        found.append(term)
    return found


#: py3langid's verdicts below this probability are not trusted (short questions); it is
#: asked only about questions with few common English words.
_LANGUAGE_MIN_PROBABILITY = 0.6
_ENGLISH_WORDS = frozenset({
    "the", "a", "an", "is", "are", "do", "does", "did", "can", "could", "will", "would",
    "should", "i", "my", "our", "we", "you", "your", "it", "its", "of", "to", "in", "on", "for",
    "with", "by", "from", "and", "or", "not", "no", "what", "how", "who", "when", "where",
    "why", "which", "data", "use", "used", "using", "train", "training", "ai"
})

def foreign_language(question: str, document_language: str = "en") -> str | None:
    """The question's language code when it is clearly not the documents' language."""
    words = re.findall(r"[^\W\d_]+", question.casefold())
    if len(words) < 3:
        return None
    non_latin = sum(not w.isascii() for w in words)
    english = sum(w in _ENGLISH_WORDS for w in words)
    if non_latin == 0 and english / len(words) >= 0.25:
        return None
    language, probability = _identifier().classify(question)
    if language != document_language and probability >= _LANGUAGE_MIN_PROBABILITY:
        return str(language)
    return None


@lru_cache(maxsize=1)
def _identifier() -> Any:
    """py3langid's model (shipped in its package), probabilities normalised; loaded once."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
