"""faqbot.slack.later: the one way work runs after an ack (bounded queue, failures told)."""

from __future__ import annotations

import logging
import threading
from unittest.mock import Mock

from faqbot.slack.blocks import BUSY, FRIENDLY_ERROR
from faqbot.slack.later import Later


def test_work_runs_on_the_pool_and_the_count_drops_after() -> None:
    later = Later(2, name="t-later")
    ran = threading.Event()
    names: list[str] = []

    def work() -> None:
        names.append(threading.current_thread().name)
        ran.set()

    send = Mock()
    later.run("job", work, send)
    assert ran.wait(5)
    later.close()
    assert names[0].startswith("t-later") and later.queued == 0
    send.assert_not_called()


def test_a_full_queue_sends_busy_now_and_never_runs_the_work() -> None:
    later = Later(1, name="t-busy", max_queued=1)
    release, started = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(5)

    later.run("first", hold, Mock())
    assert started.wait(5)
    send, extra = Mock(), Mock()
    later.run("second", extra, send)
    assert send.call_args.args[0].text == BUSY and later.queued == 1
    release.set()
    later.close()
    extra.assert_not_called()
    assert later.queued == 0


def test_failing_work_is_logged_by_class_and_the_user_told(caplog) -> None:
    later = Later(1, name="t-fail")
    send = Mock()

    def work() -> None:
        raise ValueError("the question was: secret words")

    with caplog.at_level(logging.WARNING, "faqbot.slack"):
        later.run("dm", work, send, qhash="abcd1234")
        later.close()
    assert send.call_args.args[0].text == FRIENDLY_ERROR
    assert "dm failed: ValueError" in caplog.text and "q=abcd1234" in caplog.text
    assert "secret words" not in caplog.text
    assert later.queued == 0


def test_a_failing_notice_is_logged_and_swallowed(caplog) -> None:
    later = Later(1, name="t-notice")
    send = Mock(side_effect=RuntimeError("respond broke"))
    with caplog.at_level(logging.WARNING, "faqbot.slack"):
        later.run("dm", Mock(side_effect=RuntimeError("x")), send)
        later.close()
    assert "dm (error notice) failed: RuntimeError" in caplog.text
    assert later.queued == 0


def test_work_after_close_is_dropped_and_not_counted() -> None:
    later = Later(1, name="t-closed")
    later.close()
    work = Mock()
    later.run("late", work, Mock())
    work.assert_not_called()
    assert later.queued == 0


def test_close_drains_within_the_grace_and_tells_the_rest_to_ask_again() -> None:
    from faqbot.slack.later import RESTARTING

    later = Later(1, name="t-drain")
    done: list[int] = []
    sends = [Mock() for _ in range(4)]

    def slow(i: int) -> None:
        threading.Event().wait(0.3)
        done.append(i)

    for i, send in enumerate(sends):
        later.run("dm", lambda i=i: slow(i), send)
    later.close(grace=0.45)  # time for the first one or two, not for four
    assert 1 <= len(done) <= 2 and later.queued == 0
    told = [s for s in sends if s.called]
    assert len(told) == 4 - len(done)
    assert all(s.call_args.args[0].text == RESTARTING for s in told)
    after = Mock()
    later.run("late", Mock(), after)  # arriving while stopped: told at once
    assert after.call_args.args[0].text == RESTARTING
