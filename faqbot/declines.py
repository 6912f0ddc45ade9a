"""What a decline says, by its reason: the same words in the terminal and in Slack."""

from __future__ import annotations

from faqbot.models import Answer

DECLINE = "I couldn't find this in the privacy documents."
NOT_COVERED = ("The documents touch on this but don't answer it. The closest passages are "
               "below as related reading, not as an answer.")
ACTION = ("I only answer questions from the privacy documents, and I never post, send or "
          "write anything for anyone.")
LANGUAGE = ("The documents are in English, so I can only answer questions asked in English. "
            "Questions like these I can answer:")


def other_subject(covers: tuple[str, ...]) -> str:
    """The decline for a question about a company the documents don't cover."""
    if not covers:
        return "The documents here don't cover that company or product."
    named = covers[0] if len(covers) == 1 else ", ".join(covers[:-1]) + " and " + covers[-1]
    return f"The documents here cover {named}; they don't say anything about that one."


def decline_text(answer: Answer) -> str:
    """The first line of a decline, by its reason."""
    if answer.reason == "not_covered":
        return NOT_COVERED
    if answer.reason == "action":
        return ACTION
    if answer.reason == "language":
        return LANGUAGE
    if answer.reason == "other_subject":
        return other_subject(answer.covers)
    return DECLINE
