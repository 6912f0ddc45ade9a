"""The words of a question: chat shorthand and slang read as the documents' words, the
separate questions in one message, and whether there is anything to search at all."""

from __future__ import annotations

import re

from faqbot.keyword import KeywordIndex

#: Informal words people type, mapped to the words the documents use. Appended (not
#: substituted) so the original words still count.
SYNONYMS: dict[str, str] = {
    r"\bdms?\b": "direct messages",
    r"\bdm'?d\b": "direct messages",
    r"\bgen ?ai\b": "generative AI",
    r"\bgpt\b|\bchat ?gpt\b|\bopenai\b|\bclaude\b|\bgemini\b": (
        "large language models generative AI"
    ),
    r"\bllms?\b": "large language models",
    r"\bml\b": "machine learning",
    r"\bai\b": "artificial intelligence",
    r"\bopt[- ]?out\b|\boptout\b": "opt out",
    r"\bgdpr\b": "data protection rights",
    r"\bpii\b": "personal information",
    r"\bconvos?\b|\bchats?\b": "messages conversations",
}
_SYNONYMS = [(re.compile(p, re.IGNORECASE), words) for p, words in SYNONYMS.items()]

#: Chat shorthand replaced before spelling repair, which would otherwise "fix" it wrongly.
SHORTHAND: dict[str, str] = {
    "msg": "message", "msgs": "messages", "pls": "please", "plz": "please",
    "prefs": "preferences", "cant": "can not", "dont": "do not", "doesnt": "does not",
    "whats": "what is", "info": "information", "anon": "anonymous", "u": "you", "ur": "your",
    "b4": "before", "w/": "with", "w/o": "without", "thx": "thanks", "pw": "password",
    "r": "are", "ppl": "people", "thru": "through", "acct": "account", "accts": "accounts",
    "yr": "year", "yrs": "years", "convo": "conversation", "convos": "conversations",
    "im": "i am", "incl": "including", "e2e": "end-to-end encryption", "govt": "government",
    "abt": "about", "bc": "because", "cuz": "because", "tmrw": "tomorrow", "pic": "picture",
    "pics": "pictures", "vid": "video", "vids": "videos", "rn": "right now", "y/o": "years old",
    "gonna": "going to", "wanna": "want to",
}
_SHORTHAND = re.compile(r"(?<![\w/])(" + "|".join(re.escape(k) for k in sorted(SHORTHAND, key=len,
                        reverse=True)) + r")(?![\w/])", re.IGNORECASE)


def expand_shorthand(text: str) -> str:
    """Replace chat shorthand ("msgs", "prefs") with the words the documents use."""
    return _SHORTHAND.sub(lambda m: SHORTHAND[m.group(1).casefold()], text)
_HAS_WORD = re.compile(r"[^\W_]{2,}", re.UNICODE)


def normalise_query(question: str, keyword: KeywordIndex | None = None) -> str:
    """Collapse whitespace, drop control characters, append document words for slang.

    With ``keyword`` (the documents' words), a word the documents use themselves is not
    expanded: a corpus about OpenAI says "OpenAI", and "large language models" appended to
    every question about it would only dilute them.
    """
    text = "".join(ch if ch.isprintable() else " " for ch in question)
    text = " ".join(text.split())
    extra = [words for pattern, words in _SYNONYMS
             if (found := pattern.search(text))
             and (keyword is None or keyword.unknown(found.group(0)))]
    return f"{text} ({'; '.join(extra)})" if extra else text


_PART_SPLIT = re.compile(
    r"\?\s+|\s+(?:and(?:\s+also)?|also|plus)\s+(?=(?:what|how|who|when|where|why|which|can|could|does|do|"
    r"is|are|will|would|should)\b)",
    re.IGNORECASE,
)


def question_parts(question: str, max_parts: int = 3) -> list[str]:
    """The separate questions in a message ("who can opt out and what email do they use").

    Only parts of three words or more count; a single question gives a one-element list.
    """
    text = " ".join(question[:2000].split())
    parts = [p.strip(" ?,;") for p in _PART_SPLIT.split(text)]
    parts = [p for p in parts if len(p.split()) >= 3]
    return parts[:max_parts] if len(parts) > 1 else [text]


def has_words(question: str) -> bool:
    """False for input with nothing to search: empty, only emoji, only punctuation."""
    return bool(_HAS_WORD.search(question))
