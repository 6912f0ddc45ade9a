"""Personal-data hints: which kinds of personal data a message seems to contain.

Used to warn users that they shared, say, an email address; the kinds are reported, never
the values. Numbers are checked (Luhn for cards, mod-97 for IBANs) before they count.
"""

from __future__ import annotations

import re

#: Kinds find_personal_data reports, in the order it reports them, with a phrase for users.
PERSONAL_DATA_KINDS: dict[str, str] = {
    "email": "an email address",
    "phone": "a phone number",
    "card": "a payment card number",
    "iban": "a bank account number (IBAN)",
    "id_number": "an ID number",
    "token": "a token or API key",
}

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.[A-Za-z]{2,24}")
_SECRET_PATTERNS = (
    re.compile(r"\b(?:xox[abposr]|xapp)-[A-Za-z0-9-]{8,}"),  # Slack
    re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"),  # OpenAI / Anthropic style
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),  # GitHub
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),  # Google API key
    re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),  # JWT
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\b(?:api[_-]?key|secret|password|passwd|token)\s*[:=]\s*\S{6,}", re.IGNORECASE),
)
_IBAN = re.compile(r"\b[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]){11,30}\b")
_SSN = re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")
_ALNUM_ID = re.compile(r"\b[A-Z]{1,2}\d{7,9}\b")  # passport / national id style
#: digit runs with the separators people type in phone and card numbers
_NUMBER = re.compile(r"(?<![\w+])(?:\+|\(\d)?[\d(][\d\s().\-/]{5,26}\d(?![\w])")
_DATE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$")
_YEARS = re.compile(r"^(?:(?:19|20)\d{2}[\s\-/]*)+$")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def luhn_ok(digits: str) -> bool:
    """True when a digit string passes the Luhn checksum (payment card numbers do)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    """True when a string is a well-formed IBAN (ISO 13616 mod-97 check)."""
    s = candidate.replace(" ", "").upper()
    if not 15 <= len(s) <= 34 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    rearranged = s[4:] + s[:4]
    try:
        number = "".join(str(int(ch, 36)) for ch in rearranged)
    except ValueError:
        return False
    return int(number) % 97 == 1


def _classify_number(raw: str) -> str | None:
    text = raw.strip()
    digits = re.sub(r"\D", "", text)
    if _DATE.match(text) or _YEARS.match(text) or _IPV4.match(text):
        return None
    if 13 <= len(digits) <= 19 and luhn_ok(digits):
        return "card"
    if _SSN.fullmatch(text):
        return "id_number"
    has_separators = bool(re.search(r"[\s().\-/]", text))
    if text.startswith("+") and 8 <= len(digits) <= 15:
        return "phone"
    if has_separators and 7 <= len(digits) <= 13:
        return "phone"
    if not has_separators and 10 <= len(digits) <= 11:
        return "phone"
    if len(digits) >= 8:
        return "id_number"
    return None


def find_personal_data(text: str) -> list[str]:
    """Kinds of personal data that a text appears to contain, in ``PERSONAL_DATA_KINDS`` order.

    Returns kinds only (e.g. ``["email", "phone"]``), never the matched text. Heuristic:
    good enough to suggest "no need to share this", not a data-loss-prevention tool.
    """
    found: set[str] = set()
    if _EMAIL.search(text):
        found.add("email")
    if any(p.search(text) for p in _SECRET_PATTERNS):
        found.add("token")
    for m in _IBAN.finditer(text):
        if iban_ok(m.group(0)):
            found.add("iban")
    if _ALNUM_ID.search(text):
        found.add("id_number")
    # emails and tokens can hold digits; look for numbers in what is left
    rest = _EMAIL.sub(" ", text)
    for pattern in _SECRET_PATTERNS:
        rest = pattern.sub(" ", rest)
    rest = _IBAN.sub(lambda m: " " if iban_ok(m.group(0)) else m.group(0), rest)
    for m in _NUMBER.finditer(rest):
        kind = _classify_number(m.group(0))
        if kind:
            found.add(kind)
    return [kind for kind in PERSONAL_DATA_KINDS if kind in found]
