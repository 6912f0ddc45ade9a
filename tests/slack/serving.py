"""The real server in a subprocess for fault tests: runner.run → gunicorn → one gthread worker.

The subprocess swaps in the fake embedding model; everything else is the real start-up path.
Its stdout and stderr go to a file, read by the test after (and during) the run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import process_tree
from tests.slack.slack_fakes import BOT_TOKEN, KNOWLEDGE, SECRET, FakeSlack, SlackSender

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys

from tests.fakes import FakeEmbedder
import faqbot.embedding as embedding
from faqbot.settings import load_settings
from faqbot.slack.runner import run

# the fake model where the real one would load: the answer worker (it imports this script)
embedding.load_embedder = lambda spec: FakeEmbedder()
DRAIN_S = {drain!r}
if DRAIN_S is not None:
    import faqbot.slack.runner as runner

    runner.DRAIN_S = DRAIN_S
ANSWER_DELAY = {delay!r}
if ANSWER_DELAY:  # slow answers (in the answer worker too: it imports this script)
    import time
    from faqbot.search import Engine

    real_answer = Engine.answer

    def slow_answer(self, *args, **kwargs):
        time.sleep(ANSWER_DELAY)
        return real_answer(self, *args, **kwargs)

    Engine.answer = slow_answer
BUILD_DELAY = {build_delay!r}
if BUILD_DELAY:  # slow index builds: replicas' builds overlap for sure
    import time
    from faqbot.index import IndexStore

    real_build = IndexStore._build_locked

    def slow_build(self, *args, **kwargs):
        time.sleep(BUILD_DELAY)
        return real_build(self, *args, **kwargs)

    IndexStore._build_locked = slow_build
if __name__ == "__main__":  # the answer worker is spawned: it imports this script again
    sys.exit(run(load_settings(**{settings!r})))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running ``runner.run`` subprocess and a sender for its port."""

    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    sender: SlackSender

    def logs(self) -> str:
        return self.log_path.read_text("utf-8", "replace")

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.sender.get("/readyz").status == 200:
                    return
            except OSError:
                pass
            assert self.proc.poll() is None, f"server exited {self.proc.returncode}:\n{self.logs()}"
            assert time.monotonic() < deadline, f"server not ready:\n{self.logs()}"
            time.sleep(0.1)

    def wait_log(self, text: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.logs():
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.logs()}"
            time.sleep(0.05)

    def stop(self, timeout: float = 40.0) -> int:
        """SIGTERM, then wait; SIGKILL the group if it does not stop. The exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
            raise AssertionError(f"server did not stop:\n{self.logs()}") from None

    def kill_group(self) -> None:
        """Last resort after a test: nothing of the server may outlive it."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def start_server(tmp_path: Path, fake: FakeSlack, *, answer_delay: float = 0.0,
                 drain_seconds: float | None = None, build_delay: float = 0.0,
                 script: str = SCRIPT, **overrides: Any) -> Server:
    """Start ``runner.run`` in its own process group with settings for ``fake``; every
    answer takes ``answer_delay`` seconds longer, every index build ``build_delay``;
    ``drain_seconds`` replaces runner.DRAIN_S. ``script`` replaces the script run (formatted
    with ``settings``, ``delay``, ``drain``, ``build_delay`` and ``out``, the test's folder)."""
    port = free_port()
    settings: dict[str, Any] = {
        "knowledge_dir": str(KNOWLEDGE), "index_dir": str(tmp_path / "index"), "port": port,
        "slack_api_url": fake.api_url, "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SECRET, "log_level": "INFO", **overrides}
    path = tmp_path / "serve.py"
    path.write_text(textwrap.dedent(script).format(settings=settings, delay=answer_delay,
                                                   drain=drain_seconds, build_delay=build_delay,
                                                   out=str(tmp_path)), "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FAQBOT_"))}
    env["PYTHONPATH"] = str(ROOT)  # the repository, for tests.fakes
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(path)], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    return Server(proc, port, log_path, SlackSender(f"http://127.0.0.1:{port}", fake))


def children(pid: int, *, deep: bool = True) -> list[int]:
    """The children of ``pid`` (from /proc); with ``deep``, every descendant, deepest last."""
    return process_tree(pid, None if deep else 1)[1:]


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
