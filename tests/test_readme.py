"""The README's settings table lists every setting faqbot reads, and nothing it doesn't."""

from __future__ import annotations

import re

from pydantic import AliasChoices

from faqbot.settings import Settings
from tests.conftest import REPO


def test_the_settings_table_names_every_setting() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    first_cells = [row.split("|")[1] for row in table.splitlines() if row.startswith("| `")]
    listed = {name for cell in first_cells for name in re.findall(r"`([A-Z_]+)`", cell)}
    wanted = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):  # e.g. SLACK_BOT_TOKEN or FAQBOT_SLACK_BOT_TOKEN
            wanted.add(str(alias.choices[0]))
        else:
            wanted.add(f"FAQBOT_{name.upper()}")
    assert listed == wanted, (f"missing from the README: {sorted(wanted - listed)}; "
                              f"not settings: {sorted(listed - wanted)}")
