"""Fixtures shared by every test: an isolated environment, fake and real embedders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from faqbot.search import Engine
from faqbot.settings import Settings, load_settings
from tests.fakes import FakeEmbedder
from tests.postgres_server import postgres_url  # noqa: F401  (a fixture, used by name)

REPO = Path(__file__).resolve().parent.parent
SAMPLE_KNOWLEDGE = Path(__file__).resolve().parent / "data" / "knowledge"


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's Slack tokens or faqbot settings, or writes outside tmp."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "FAQBOT_")) or name == "PORT":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    """A writable copy of the small sample knowledge folder."""
    target = tmp_path / "knowledge"
    shutil.copytree(SAMPLE_KNOWLEDGE, target)
    return target


@pytest.fixture
def settings(knowledge: Path, tmp_path: Path) -> Settings:
    return load_settings(knowledge_dir=knowledge, index_dir=tmp_path / "index")


@pytest.fixture
def engine(settings: Settings) -> Engine:
    """An engine over the sample knowledge with the fake model (the index built in tmp)."""
    from faqbot.service import open_engine

    return open_engine(settings, FakeEmbedder())


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def real_embedder():  # type: ignore[no-untyped-def]
    """The bundled all-MiniLM-L6-v2, loaded once per test session."""
    from faqbot.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()
