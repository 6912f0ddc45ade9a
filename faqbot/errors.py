"""One small family of errors, each with a message an admin can act on."""

from __future__ import annotations

from dataclasses import dataclass


class FaqbotError(Exception):
    """Base class for every error faqbot raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a knowledge file: where it is and what is wrong."""

    path: str
    line: int | None
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity}: {self.message}"


class KnowledgeError(FaqbotError):
    """The knowledge folder holds a file that cannot be read or does not validate."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = problems[0] if problems else Problem("knowledge", None, "unknown problem")
        more = f" (and {len(problems) - 1} more; run 'faqbot check')" if len(problems) > 1 else ""
        super().__init__(f"{first}{more}")


class StoreError(FaqbotError):
    """The index on disk is missing, corrupt, or was built with another model or format."""


class StoreLockedError(StoreError):
    """Another process is building the index right now."""


class ModelLoadError(FaqbotError):
    """The embedding model could not be loaded (offline, wrong path, or wrong name)."""


class ConfigError(FaqbotError):
    """A setting is missing or invalid."""
