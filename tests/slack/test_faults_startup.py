"""Start-up faults against the real server (gunicorn in a subprocess, the fake Slack):
a fatal error stops it once with one line naming the cause; a bad CURRENT is rebuilt; a
broken knowledge file still serves and tells the admins (issue 16, items 1 and 11)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from faqbot.index import IndexStore
from faqbot.service import open_engine
from tests.fakes import FakeEmbedder
from tests.slack.serving import start_server
from tests.slack.slack_fakes import KNOWLEDGE, OWNER, make_settings


def _exits(server, timeout: float = 30.0) -> int:
    try:
        return server.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        server.kill_group()
        raise AssertionError(f"the server kept running (a restart loop?):\n{server.logs()}"
                             ) from None


def _fatal_lines(logs: str) -> list[str]:
    return [line for line in logs.splitlines() if line.startswith("faqbot: error:")]


def test_refused_token_exits_once_naming_invalid_auth(tmp_path, fake):
    fake.fail_next("auth.test", body={"ok": False, "error": "invalid_auth"}, times=50)
    server = start_server(tmp_path, fake)
    assert _exits(server) == 1
    logs = server.logs()
    assert logs.count("Booting worker") == 1, logs  # before: one boot per second, forever
    lines = _fatal_lines(logs)
    assert len(lines) == 1 and "invalid_auth" in lines[0], logs
    assert "Traceback" not in logs


@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("a full disk needs a tmpfs mount (root): "
                    f"{done.stderr.decode(errors='replace').strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_full_disk_at_the_first_build_exits_once_naming_it(tmp_path, fake):
    with _tmpfs(tmp_path / "disk", "4k") as disk:
        server = start_server(tmp_path, fake, index_dir=str(disk / "index"))
        assert _exits(server) == 1
    logs = server.logs()
    assert logs.count("Booting worker") == 1, logs
    lines = _fatal_lines(logs)
    assert len(lines) == 1 and "No space left on device" in lines[0], logs


def test_undecodable_current_is_rebuilt(tmp_path, knowledge):
    settings = make_settings(tmp_path / "index", "http://127.0.0.1:9/api/",
                             knowledge_dir=knowledge)
    first = open_engine(settings, FakeEmbedder()).snapshot.name
    (tmp_path / "index" / "CURRENT").write_bytes(b"\xff\xfe\x00garbage\x81")
    store = IndexStore(tmp_path / "index")
    assert store.current_name() is None  # before: UnicodeDecodeError
    engine = open_engine(settings, FakeEmbedder())
    assert engine.snapshot.name != first and store.current_name() == engine.snapshot.name
    (tmp_path / "index" / "CURRENT").write_text("../../etc\n", "utf-8")
    assert store.current_name() is None  # a path is not a version name


def test_server_with_binary_current_rebuilds_and_serves(tmp_path, fake):
    index = tmp_path / "index"
    open_engine(make_settings(index, fake.api_url), FakeEmbedder())
    (index / "CURRENT").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xff")
    server = start_server(tmp_path, fake)
    try:
        server.wait_ready()
        assert server.sender.command("are language models trained on my data?").status == 200
        assert "trained" in fake.wait_response(timeout=20)[0].text
    finally:
        assert server.stop() == 0
    assert server.logs().count("Booting worker") == 1


def test_broken_file_at_start_serves_the_last_good_index_and_tells_admins(tmp_path, fake):
    folder = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, folder)
    index = tmp_path / "index"
    good = open_engine(make_settings(index, fake.api_url, knowledge_dir=folder),
                       FakeEmbedder()).snapshot.name
    (folder / "faq.yml").write_text("faq:\n  - id: ok\n    question: 'unclosed\n", "utf-8")
    server = start_server(tmp_path, fake, knowledge_dir=str(folder),
                          admin_user_ids=[OWNER])
    try:
        server.wait_ready()  # before: "faqbot: error: faq.yml:..." and no service
        dm = fake.wait_for(lambda c: c.name == "chat.postMessage"
                           and c.data.get("channel") == OWNER, timeout=20)[0]
        assert "faq.yml" in dm.text and good in dm.text
        assert server.sender.command("admin status", user_id=OWNER).status == 200
        status = fake.wait_response(timeout=20)[0].text
        assert "failed" in status and "faq.yml" in status
        # a reload that finds the same problem does not tell the admins again
        fake.reset()
        assert server.sender.command("admin reload", user_id=OWNER).status == 200
        fake.wait_response(timeout=20)
        assert not [c for c in fake.api_calls("chat.postMessage")
                    if c.data.get("channel") == OWNER]
    finally:
        assert server.stop() == 0
