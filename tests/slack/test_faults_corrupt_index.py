"""A corrupted file in the index version in service, then the answer worker restarts: it
answers from the previous good version, the index is rebuilt, the admins are told, and
readiness tells the truth (issue 16, item 7). The real server, real kill -9."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

from faqbot.index import IndexStore
from faqbot.service import open_engine
from faqbot.slack.blocks import FRIENDLY_ERROR
from faqbot.slack.runner import SlackWSGI
from tests.fakes import FakeEmbedder
from tests.slack.serving import children, start_server
from tests.slack.slack_fakes import KNOWLEDGE, OWNER, SlackSender, make_settings, serve_wsgi

PARKING = "---\ntitle: Parking\nurl: https://intranet/parking\nkind: internal\n---\n" \
          "## Parking\n\nThe zebra garage opens at seven.\n"


def _answer_worker(worker: int) -> int:
    for pid in children(worker, deep=False):
        if b"multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    raise AssertionError("no answer worker")


def test_corrupt_version_in_service_then_worker_restart(tmp_path, fake):
    folder = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, folder)
    index = tmp_path / "index"
    settings = make_settings(index, fake.api_url, knowledge_dir=folder)
    previous = open_engine(settings, FakeEmbedder()).snapshot.name
    (folder / "parking.md").write_text(PARKING, "utf-8")
    damaged = open_engine(settings, FakeEmbedder()).snapshot.name
    assert previous != damaged
    server = start_server(tmp_path, fake, knowledge_dir=str(folder), admin_user_ids=[OWNER])
    try:
        server.wait_ready()
        (index / "versions" / damaged / "passages.faiss").write_bytes(b"\x00garbage" * 64)
        [worker] = children(server.proc.pid, deep=False)
        os.kill(_answer_worker(worker), signal.SIGKILL)
        assert server.sender.command("are models trained on my data?").status == 200
        reply = fake.wait_response(timeout=30)[0].text
        assert FRIENDLY_ERROR not in reply and "trained" in reply  # before: the friendly error
        dm = fake.wait_for(lambda c: c.name == "chat.postMessage"
                           and c.data.get("channel") == OWNER and damaged in c.text,
                           timeout=20)[0]
        assert "damaged" in dm.text and previous in dm.text
        store = IndexStore(index)
        deadline = time.monotonic() + 30
        while store.current_name() in (damaged, None):  # rebuilt, and served
            assert time.monotonic() < deadline, server.logs()
            time.sleep(0.1)
        store.load()  # the new version loads
        fake.wait_for(lambda c: c.name == "chat.postMessage" and "problem is gone" in c.text,
                      timeout=20)
        assert server.sender.get("/readyz").status == 200
    finally:
        assert server.stop() == 0
        server.kill_group()


def test_readyz_is_503_while_no_index_version_can_answer(fake, app):
    state = {"healthy": False}
    wsgi = SlackWSGI()
    wsgi.attach(app, checks={"worker": lambda: state["healthy"]})
    server, url = serve_wsgi(wsgi)
    try:
        sender = SlackSender(url, fake)
        response = sender.get("/readyz")
        assert response.status == 503 and response.body == b"not ready: worker\n"
        assert sender.get("/healthz").status == 200  # alive all the same
        state["healthy"] = True
        assert sender.get("/readyz").status == 200
    finally:
        server.shutdown()
        server.server_close()
