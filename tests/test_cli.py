"""The command line with a fake model: JSON contract, batch mode, check, eval, errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from faqbot import cli, embedding, service
from tests.fakes import FakeEmbedder


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> FakeEmbedder:
    fake = FakeEmbedder()
    monkeypatch.setattr(embedding, "load_embedder", lambda spec: fake)
    monkeypatch.setattr(service, "load_embedder", lambda spec: fake)
    return fake


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_json_contract(knowledge: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", "How do I opt out?", "--json", "--knowledge", str(knowledge))
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert set(data) == {"answered", "confidence", "reason", "faq", "passages"}
    assert data["reason"] is None  # answered: no reason to decline
    assert data["answered"] is True and isinstance(data["confidence"], float)
    assert set(data["faq"]) == {"id", "question", "answer"}
    assert data["passages"], "passages are listed"
    for p in data["passages"]:
        assert set(p) == {"doc", "title", "section", "url", "date", "kind", "text", "score"}
        assert p["doc"] == "policies/sample-policy.md"
    scores = [p["score"] for p in data["passages"][1:]]
    assert scores == sorted(scores, reverse=True)


def test_ask_declined_still_lists_passages(knowledge: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", "zebra quantum lasagne", "--json", "--top-k", "2",
                       "--knowledge", str(knowledge))
    data = json.loads(out)
    assert code == 0 and data["answered"] is False and data["faq"] is None
    assert len(data["passages"]) == 2


def test_ask_batch_from_stdin_loads_the_model_once(
    knowledge: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    fake_model: FakeEmbedder,
) -> None:
    loads = []
    monkeypatch.setattr(service, "load_embedder", lambda spec: loads.append(spec) or fake_model)
    monkeypatch.setattr("sys.stdin", io.StringIO("How do I opt out?\n\nzebra lasagne\n"))
    code, out, _ = run(capsys, "ask", "-", "--json", "--knowledge", str(knowledge))
    answers = [json.loads(line) for line in out.strip().splitlines()]
    assert code == 0 and [a["answered"] for a in answers] == [True, False]
    assert len(loads) == 1


def test_ask_human_output_cites_and_never_echoes_question(
    knowledge: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "ask", "How do I opt out? canary-7f3a", "--knowledge",
                         str(knowledge))
    assert code == 0
    assert "feedback@example.com" in out and "https://example.com/principles" in out
    assert "2024-05-17" in out and "Opting out > How to opt out" in out
    assert "canary-7f3a" not in out + err


def test_index_summary_and_up_to_date(knowledge: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "index", "--knowledge", str(knowledge))
    assert code == 0 and out.startswith("full build (no index yet): 3 files,")
    assert "passages" in out and "added" in out
    code, out, _ = run(capsys, "index", "--knowledge", str(knowledge))
    assert code == 0 and out.strip() == "index is up to date"
    (knowledge / "new.md").write_text("---\ntitle: New\nurl: https://n\n---\nFresh text.\n")
    code, out, _ = run(capsys, "index", "--knowledge", str(knowledge))
    assert out.startswith("update: 4 files") and "1 added, 0 changed, 0 removed" in out
    code, out, _ = run(capsys, "index", "--rollback", "--knowledge", str(knowledge))
    assert code == 0 and out.startswith("rolled back to index version")


def test_check_ok_and_errors(knowledge: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--knowledge", str(knowledge))
    assert code == 0 and "0 errors" in out
    (knowledge / "broken.md").write_text("---\ntitle: x\nkind: rumour\n---\ntext\n")
    code, out, _ = run(capsys, "check", "--knowledge", str(knowledge))
    assert code == 1 and "broken.md:3: error: kind:" in out and "1 errors" in out


def test_errors_are_one_line_without_traceback(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "k"
    bad.mkdir()
    (bad / "a.md").write_text("---\ntitle: [x\n---\n")
    code, out, err = run(capsys, "ask", "hello", "--knowledge", str(bad))
    assert code == 1 and out == ""
    assert err.startswith("faqbot: a.md:") and "Traceback" not in err
    code, _, err = run(capsys, "eval", str(tmp_path / "missing.yml"), "--knowledge", str(bad))
    assert code == 1 and "Traceback" not in err


def test_eval_prints_metrics_and_gates(knowledge: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    questions = tmp_path / "q.yml"
    questions.write_text("""questions:
  - id: a
    question: How do I opt out?
    kind: opt-out
    expected: [{doc: policies/sample-policy.md, must_contain: "FEEDBACK@example.com   with"}]
  - id: b
    question: zebra quantum lasagne
    kind: out-of-scope
    expected: []
""")
    code, out, _ = run(capsys, "eval", str(questions), "--knowledge", str(knowledge),
                       "--min-hit1", "1.0", "--min-declined", "1.0")
    assert code == 0, out
    assert "Hit@1 1.000" in out and "must-decline declined: 100.0%" in out
    assert "in-scope correct (answered, an expected passage in the top 3): 100.0%" in out
    assert "opt-out" in out and "decline curve" in out
    code, _, err = run(capsys, "eval", str(questions), "--knowledge", str(knowledge),
                       "--max-wrongly-declined", "-0.1")
    assert code == 1 and "below minimum" in err


def test_unexpected_error_names_class_not_message(
    knowledge: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from faqbot.search import Engine

    def explode(self: Engine, question: str, top_k: int = 3) -> None:
        raise KeyError(f"word {question}")

    monkeypatch.setattr(Engine, "answer", explode)
    code, out, err = run(capsys, "ask", "canary-5b1e question", "--knowledge", str(knowledge))
    assert code == 2 and out == ""
    assert "faqbot: internal error: KeyError at tests/test_cli.py" in err
    assert "canary-5b1e" not in err and "Traceback" not in err
