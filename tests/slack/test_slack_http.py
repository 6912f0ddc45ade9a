"""The WSGI app gunicorn serves: signatures, health, routing, start-up against the fake."""

from __future__ import annotations

import time

from faqbot.slack.runner import SlackWSGI
from tests.slack.slack_fakes import SlackSender, serve_wsgi


def test_bad_signature_is_rejected_with_401(slack, fake):
    response = slack.command("are language models trained?", secret="wrong-secret")
    assert response.status == 401
    time.sleep(0.1)
    assert not fake.calls


def test_stale_timestamp_is_rejected_with_401(slack, fake):
    response = slack.command("are language models trained?", timestamp=int(time.time()) - 600)
    assert response.status == 401
    time.sleep(0.1)
    assert not fake.calls


def test_unsigned_event_is_rejected(slack, fake):
    response = slack.post('{"type":"event_callback"}', "application/json",
                          headers={"X-Slack-Signature": "v0=00"})
    assert response.status == 401


def test_healthz_and_routing(slack):
    assert slack.get("/healthz").status == 200
    assert slack.get("/readyz").status == 200
    assert slack.get("/slack/events").status == 404
    assert slack.get("/elsewhere").status == 404


def test_readyz_is_503_until_the_app_is_attached_healthz_is_alive(fake, app):
    wsgi = SlackWSGI()
    server, url = serve_wsgi(wsgi)
    try:
        sender = SlackSender(url, fake)
        assert sender.get("/healthz").status == 200  # alive while loading
        loading = sender.get("/readyz")
        assert loading.status == 503 and loading.body == b"loading\n"
        assert sender.command("hello").status == 503
        wsgi.attach(app)
        assert sender.get("/readyz").status == 200
    finally:
        server.shutdown()
        server.server_close()


def test_create_app_without_a_client_checks_the_token_at_start(slack_settings, engine, fake):
    from faqbot.slack.app import create_app

    app = create_app(slack_settings, engine)
    assert fake.api_calls("auth.test")
    assert app.client.base_url == slack_settings.slack_api_url
    assert any(type(h).__name__ == "SlackRetryHandler" for h in app.client.retry_handlers)


def test_malformed_body_is_400_without_a_traceback(slack, fake, capfd):
    # Bolt parses the body before it checks the signature: signed or not, a body that is not
    # JSON must not become a 500 with a traceback from the server
    for headers in ({}, {"X-Slack-Signature": "v0=00"}):
        response = slack.post('{"type": "event_callback", "event": {"text": "unterminated',
                              "application/json", headers=headers)
        assert response.status == 400 and response.body == b"bad request\n"
    form = slack.post("payload=%7Bnot-json", "application/x-www-form-urlencoded")
    assert form.status == 400
    assert "Traceback" not in capfd.readouterr().err
    assert not fake.calls
