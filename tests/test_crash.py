"""A build killed with SIGKILL mid-write leaves the previous index in service."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from faqbot.index import IndexStore
from faqbot.sources import load_knowledge
from tests.conftest import REPO
from tests.fakes import FakeEmbedder

CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from faqbot import index, index_build
    from faqbot.sources import load_knowledge
    from tests.fakes import FakeEmbedder

    real = index_build.write_faiss
    def slow_write(path, matrix, *rest):
        real(path, matrix, *rest)
        Path(sys.argv[3]).write_text("writing")  # tell the parent we are mid-write
        time.sleep(60)
    index_build.write_faiss = slow_write
    index.IndexStore(Path(sys.argv[2])).build(load_knowledge(Path(sys.argv[1])), FakeEmbedder())
""")


def test_sigkill_mid_write_keeps_previous_index(knowledge: Path, tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "ix")
    store.build(load_knowledge(knowledge), FakeEmbedder())
    before = store.current_name()
    (knowledge / "extra.md").write_text("---\ntitle: Extra\n---\nNew words.\n")
    marker = tmp_path / "marker"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(knowledge), str(tmp_path / "ix"), str(marker)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, "the build ended before it was killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    assert list(store.versions.glob(".tmp-*")), "the killed build left a half-written folder"
    assert store.current_name() == before
    assert all(p.doc != "extra.md" for p in store.load().passages)
    # the lock died with the process: the next build runs, and sweeps the leftovers
    store.build(load_knowledge(knowledge), FakeEmbedder())
    assert not list(store.versions.glob(".tmp-*"))
    assert any(p.doc == "extra.md" for p in store.load().passages)
