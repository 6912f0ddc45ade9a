"""OAuth install end to end: the real Bolt app over real HTTP on 127.0.0.1, Bolt's own install
pages, the fake Slack answering oauth.v2.access, auth.test and team.info, installs kept in
slack_sdk's SQLAlchemy store (encrypted) on real SQLite, and on a real Postgres for the
two-replica refresh."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from faqbot.errors import ConfigError
from faqbot.search import Engine
from faqbot.settings import Settings
from faqbot.slack.runner import choose_mode
from tests.slack.oauth_world import (
    TOKENS,
    WORKSPACES,
    event,
    install,
    oauth_settings,
    teach,
)
from tests.slack.oauth_world import command as command_from
from tests.slack.slack_fakes import MEMBER, OWNER, FakeSlack, SlackSender, dm, serve_wsgi

OAUTH_TABLES = ("slack_installations", "slack_bots", "slack_oauth_states",
                "token_refresh_leases", "opt_out_status", "opt_out_changes")


class Replica:
    """One app (its own services, database connections and HTTP server)."""

    def __init__(self, settings: Settings, engine: Engine, fake: FakeSlack) -> None:
        from faqbot.slack.app import build_client, create_app
        from faqbot.slack.runner import SlackWSGI
        from faqbot.slack.services import build_services

        self.services = build_services(settings, engine)
        self.app = create_app(settings, engine, client=build_client(settings),
                              services=self.services)
        self.server, self.url = serve_wsgi(SlackWSGI(self.app))
        self.sender = SlackSender(self.url, fake)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.services.close()


@pytest.fixture
def replicas(engine: Engine, fake: FakeSlack) -> Iterator[list[Replica]]:
    made: list[Replica] = []
    yield made
    for replica in made:
        replica.close()


@pytest.fixture
def settings(index_dir: Path, fake: FakeSlack, tmp_path: Path) -> Settings:
    teach(fake)
    return oauth_settings(index_dir, fake, state_dir=tmp_path / "state")


@pytest.fixture
def one(settings: Settings, engine: Engine, fake: FakeSlack,
        replicas: list[Replica]) -> Replica:
    replicas.append(Replica(settings, engine, fake))
    return replicas[0]


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for ``check`` (the listeners run after the ack); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not done in time"
        time.sleep(0.02)


def install_all(replica: Replica) -> None:
    for key in ("A", "B", "E"):
        done, _state = install(replica.url, f"code-{key}")
        assert done.status == 200, (key, done.body[:300])


def answer_at(fake: FakeSlack, key: str) -> str:
    (reply,) = fake.wait_response(key)
    return reply.text


def test_each_workspace_is_answered_with_its_token_and_its_workspace_url(one, fake, tmp_path):
    install_all(one)
    exchanges = fake.api_calls("oauth.v2.access")
    assert sorted(c.data["code"] for c in exchanges) == ["code-A", "code-B", "code-E"]
    for place in WORKSPACES.values():
        token = TOKENS["E" if place.org_wide else place.key]
        # the guided opt-out flow for an owner: the email names the workspace asked from
        response = command_from(one.sender, place, "opt-out", user_id=OWNER)
        assert response.status == 200, response
        body = answer_at(fake, place.key)
        assert f"{place.name} ({place.url})" in body, body[:400]
        others = [p.url for p in WORKSPACES.values() if p is not place]
        assert not any(url in body for url in others)
        (info,) = [c for c in fake.api_calls("team.info") if c.data["team"] == place.team]
        assert info.token == token  # an org token asks about the workspace by its id
        assert all(c.token == token for c in fake.api_calls("users.info")[-1:])
        # a DM is answered with a post made with that install's token
        before = len(fake.api_calls("chat.postMessage"))
        assert event(one.sender, place, dm("Are my messages used to train models?")).status == 200
        post = fake.wait_api("chat.postMessage", count=before + 1)[-1]
        assert post.token == token and post.data["channel"] == "D1"
    # at rest: ciphertext only, in the SQLite file under the state folder
    stored = b"".join(p.read_bytes() for p in (tmp_path / "state").rglob("*") if p.is_file())
    assert stored and not any(t.encode() in stored for t in TOKENS.values())
    found = one.services.install.store.find_installation(enterprise_id=None,
                                                         team_id=WORKSPACES["A"].team)
    assert found is not None and found.bot_token == TOKENS["A"]


def test_a_wrong_state_or_code_installs_nothing(one, fake):
    done, _state = install(one.url, "code-A", state="not-the-issued-state")
    assert done.status in (400, 401)
    done, _state = install(one.url, "code-nobody-issued")
    assert done.status == 401
    assert [c.data["code"] for c in fake.api_calls("oauth.v2.access")] == ["code-nobody-issued"]
    command_from(one.sender, WORKSPACES["A"], "opt-out")
    assert "not installed in this workspace" in answer_at(fake, "A")
    assert not fake.api_calls("users.info")


def test_an_uninstall_stops_answers_for_that_workspace_only(one, fake):
    install_all(one)
    a, b, e1 = WORKSPACES["A"], WORKSPACES["B"], WORKSPACES["E1"]
    one.services.opt_out.record(a.team, "requested", "workspace owner", user=OWNER)
    assert event(one.sender, a, {"type": "app_uninstalled"}).status == 200
    store = one.services.install.store
    eventually(lambda: one.services.opt_out.store.get(a.team) is None)
    assert store.find_installation(enterprise_id=None, team_id=a.team) is None
    assert store.find_bot(enterprise_id=None, team_id=a.team) is None
    assert one.services.opt_out.store.get(a.team) is None  # nothing of A stays
    assert store.find_installation(enterprise_id=None, team_id=b.team) is not None
    command_from(one.sender, a, "opt-out")
    assert "not installed in this workspace" in answer_at(fake, "A")
    command_from(one.sender, b, "opt-out")
    assert b.url in answer_at(fake, "B")
    command_from(one.sender, e1, "opt-out")
    assert e1.url in answer_at(fake, "E1")
    # a revoked bot token of the org: the org's installs go, A's neighbours stay
    revoked = {"type": "tokens_revoked", "tokens": {"bot": ["UBOTE"]}}
    assert event(one.sender, None, revoked, team=None, enterprise="E0ORG",
                 org_wide=True).status == 200
    # the listener deletes the bot row, then the install row holding a copy: wait for both
    eventually(lambda: store.find_bot(enterprise_id="E0ORG", team_id=None,
                                      is_enterprise_install=True) is None
               and store.find_installation(enterprise_id="E0ORG", team_id=e1.team,
                                           is_enterprise_install=True) is None)
    command_from(one.sender, e1, "opt-out", key="E1again")
    assert "not installed in this workspace" in answer_at(fake, "E1again")
    assert store.find_bot(enterprise_id=None, team_id=b.team) is not None


def test_an_org_wide_uninstall_removes_the_org_install_and_nothing_else(one, fake):
    install_all(one)
    e2 = WORKSPACES["E2"]
    assert event(one.sender, e2, {"type": "app_uninstalled"}).status == 200
    store = one.services.install.store
    eventually(lambda: store.find_installation(enterprise_id="E0ORG", team_id=None,
                                               is_enterprise_install=True) is None)
    for key in ("E1", "E2"):
        command_from(one.sender, WORKSPACES[key], "opt-out")
        assert "not installed in this workspace" in answer_at(fake, key)
    command_from(one.sender, WORKSPACES["A"], "opt-out")
    assert WORKSPACES["A"].url in answer_at(fake, "A")


def test_admin_commands_only_for_the_admins_of_the_place_they_come_from(
        index_dir, fake, tmp_path, engine, replicas):
    teach(fake)
    a, b, e2 = WORKSPACES["A"], WORKSPACES["B"], WORKSPACES["E2"]
    settings = oauth_settings(index_dir, fake, state_dir=tmp_path / "state",
                              admin_user_ids=f"{a.team}:{MEMBER},E0ORG:UORGADM1,UBARE01")
    replicas.append(Replica(settings, engine, fake))
    install_all(replicas[0])
    sender = replicas[0].sender
    for place, user, allowed in [(a, MEMBER, True), (b, MEMBER, False), (e2, "UORGADM1", True),
                                 (a, "UORGADM1", False), (a, "UBARE01", False)]:
        key = f"{place.key}{user}"
        command_from(sender, place, "admin status", user_id=user, key=key)
        body = answer_at(fake, key)
        assert ("faqbot status" in body) is allowed, (place.key, user, body[:200])
        assert ("can't do that for you" in body) is not allowed, (place.key, user)


def test_oauth_mode_refuses_to_start_without_a_key_or_with_a_bad_one(index_dir, fake):
    with pytest.raises(ConfigError, match="faqbot token-key"):
        choose_mode(oauth_settings(index_dir, fake, token_key=None))
    with pytest.raises(ConfigError, match="not a Fernet key"):
        choose_mode(oauth_settings(index_dir, fake, token_key="too-short"))
    with pytest.raises(ConfigError, match="SLACK_CLIENT_SECRET"):
        choose_mode(oauth_settings(index_dir, fake, slack_client_secret=None))
    assert choose_mode(oauth_settings(index_dir, fake)) == "oauth"


# --- token rotation, once across replicas ---------------------------------------------------


def _drop(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in OAUTH_TABLES:
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()


def _rotating(fake: FakeSlack) -> None:
    """Workspace A's install hands out a token that expires in a minute (inside Bolt's
    refresh window) and a refresh token; refreshing it is slow, so both replicas ask at once."""
    teach(fake)
    fake.codes["code-A"].update(access_token="xoxe.xoxb-1-old", refresh_token="xoxe-1-first",
                                expires_in=60)
    fake.tokens["xoxe.xoxb-1-old"] = fake.tokens[TOKENS["A"]]
    fake.tokens["xoxe.xoxb-1-new"] = fake.tokens[TOKENS["A"]]
    fake.refreshes["xoxe-1-first"] = {"token_type": "bot", "access_token": "xoxe.xoxb-1-new",
                                      "refresh_token": "xoxe-1-second", "expires_in": 43200}
    fake.delay_next("oauth.v2.access", 0.6, times=3)  # the install, then the refresh(es)


def _refresh_once(settings: Settings, engine: Engine, fake: FakeSlack,
                  replicas: list[Replica]) -> None:
    replicas.extend([Replica(settings, engine, fake), Replica(settings, engine, fake)])
    done, _state = install(replicas[0].url, "code-A")
    assert done.status == 200
    a = WORKSPACES["A"]
    results: dict[int, Any] = {}

    def ask(n: int) -> None:
        results[n] = command_from(replicas[n % 2].sender, a, "opt-out", key=f"r{n}")

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(r.status == 200 for r in results.values()), results
    for n in range(4):
        assert a.url in answer_at(fake, f"r{n}")
    refreshes = [c for c in fake.api_calls("oauth.v2.access")
                 if c.data.get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1, [c.data.get("refresh_token") for c in refreshes]
    assert refreshes[0].data["refresh_token"] == "xoxe-1-first"
    used = {c.token for c in fake.api_calls("users.info")}
    assert used == {"xoxe.xoxb-1-new"}, used
    for replica in replicas:  # both read the new token and its next refresh token
        found = replica.services.install.store.find_installation(enterprise_id=None,
                                                                 team_id=a.team)
        assert found.bot_token == "xoxe.xoxb-1-new"
        assert found.bot_refresh_token == "xoxe-1-second"


def test_an_expired_token_is_refreshed_once_across_two_replicas_on_sqlite(
        index_dir, fake, tmp_path, engine, replicas):
    _rotating(fake)
    settings = oauth_settings(index_dir, fake, state_dir=tmp_path / "state")
    _refresh_once(settings, engine, fake, replicas)


def test_an_expired_token_is_refreshed_once_across_two_replicas_on_postgres(
        index_dir, fake, engine, replicas, postgres_url):
    _drop(postgres_url)
    _rotating(fake)
    settings = oauth_settings(index_dir, fake, database_url=postgres_url)
    try:
        _refresh_once(settings, engine, fake, replicas)
        engine_pg = create_engine(postgres_url)
        with engine_pg.connect() as conn:
            rows = conn.execute(text("SELECT bot_token, bot_refresh_token FROM slack_bots"))
            stored = json.dumps([list(r) for r in rows])
        engine_pg.dispose()
        assert "xoxe" not in stored and "gAAAAA" in stored  # Fernet ciphertext, no token
    finally:
        for replica in replicas:
            replica.close()
        replicas.clear()
        _drop(postgres_url)


def test_the_http_manifest_subscribes_to_what_the_oauth_app_listens_for(one):
    from faqbot.slack.manifest import http_manifest, load_manifest
    from tests.slack.test_slack_manifest import EVENT_SCOPES, registered

    variant = http_manifest(load_manifest(), "https://faqbot.example.com")
    events = variant["settings"]["event_subscriptions"]["bot_events"]
    assert registered(one.app)["event"] == {EVENT_SCOPES.get(e, (e,))[0] for e in events}


def test_tokens_sealed_with_another_key_are_not_used(settings, one, fake, engine, replicas,
                                                     caplog):
    install_all(one)
    other_key = settings.model_copy(update={"token_key": oauth_settings(
        Path("."), fake).token_key})
    replicas.append(Replica(other_key, engine, fake))
    with caplog.at_level("WARNING", logger="faqbot.slack"):
        command_from(replicas[1].sender, WORKSPACES["B"], "opt-out")
        assert "not installed in this workspace" in answer_at(fake, "B")
    assert "cannot be decrypted with FAQBOT_TOKEN_KEY" in caplog.text
    assert TOKENS["B"] not in caplog.text


def test_work_outside_a_request_uses_the_install_of_its_workspace(one, fake):
    """Opt-out reminders and admin DMs have no request to take a token from: each goes out
    with the token of the workspace (or org) it is for, and not at all where nothing is
    installed."""
    import datetime as dt

    from faqbot.slack.admin import AdminNotifier
    from faqbot.slack.reminders import start_reminders

    install_all(one)
    a, e2 = WORKSPACES["A"], WORKSPACES["E2"]
    status = one.services.opt_out
    day = dt.date(2024, 5, 20)
    status.record(a.team, "requested", "workspace owner", user="UOWNA1", on=day)
    status.record(e2.team, "requested", "workspace owner", user="UOWNE2", on=day)
    reminders = start_reminders(one.app.client, one.services, interval=3600)
    posts = fake.wait_api("chat.postMessage", count=2)
    reminders.stop()
    sent = {c.data["channel"]: (c.token, c.text) for c in posts}
    assert sent["UOWNA1"][0] == TOKENS["A"] and a.url in sent["UOWNA1"][1]
    assert sent["UOWNE2"][0] == TOKENS["E"] and e2.url in sent["UOWNE2"][1]

    install = one.services.install
    notify = AdminNotifier(one.app.client, [f"{a.team}:UADMA", "E0ORG:UADME", "UBARE"],
                           client_for=lambda team: install.client_for(one.app.client, team))
    notify("the knowledge folder has a broken file")
    dms = {c.data["channel"]: c.token for c in fake.wait_api("chat.postMessage", count=4)[2:]}
    assert dms == {"UADMA": TOKENS["A"], "UADME": TOKENS["E"]}  # a bare id has no install
    assert install.client_for(one.app.client, "TNOTHERE").token == TOKENS["E"]  # one org
    install.store.delete_all(enterprise_id="E0ORG", team_id=None)
    assert install.client_for(one.app.client, "TNOTHERE") is None


def test_make_run_with_oauth_settings_starts_slack_not_the_demo(index_dir, fake, capsys,
                                                               restore_logging):
    from faqbot.server import NO_TOKENS, serve

    assert serve(oauth_settings(index_dir, fake, token_key=None)) == 1  # no key: no start
    out, err = capsys.readouterr()
    assert NO_TOKENS not in out
    assert "FAQBOT_TOKEN_KEY" in err and "faqbot token-key" in err
    assert serve(oauth_settings(index_dir, fake, slack_client_secret=None)) == 1
    assert "both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET" in capsys.readouterr().err


def test_a_new_key_first_and_the_old_one_after_it_reads_both(settings, one, fake, engine,
                                                              replicas):
    install_all(one)  # written with the old key
    old = settings.token_key.get_secret_value()
    new = Fernet.generate_key().decode()
    rotated = settings.model_copy(update={"token_key": SecretStr(f"{new},{old}")})
    replicas.append(Replica(rotated, engine, fake))
    command_from(replicas[1].sender, WORKSPACES["A"], "opt-out")
    assert WORKSPACES["A"].url in answer_at(fake, "A")
    done, _state = install(replicas[1].url, "code-B")  # written with the new key
    assert done.status == 200
    only_new = settings.model_copy(update={"token_key": SecretStr(new)})
    replicas.append(Replica(only_new, engine, fake))
    store = replicas[2].services.install.store
    assert store.find_installation(enterprise_id=None, team_id=WORKSPACES["B"].team) is not None
    assert store.find_installation(enterprise_id=None, team_id=WORKSPACES["A"].team) is None


def test_static_token_mode_serves_no_install_pages(served):
    from tests.slack.oauth_world import get

    for path in ("/slack/install", "/slack/oauth_redirect?code=x&state=y"):
        assert get(served + path)[0].status == 404


def test_only_the_listed_workspaces_and_orgs_may_install_and_be_served(
        index_dir, fake, tmp_path, engine, replicas, caplog):
    teach(fake)
    a, b, e1 = WORKSPACES["A"], WORKSPACES["B"], WORKSPACES["E1"]
    settings = oauth_settings(index_dir, fake, state_dir=tmp_path / "state",
                              install_teams=f"{a.team}, E0ORG")
    replicas.append(Replica(settings, engine, fake))
    with caplog.at_level("WARNING", logger="faqbot.slack"):
        for key, ok in (("A", True), ("B", False), ("E", True)):
            done, _state = install(replicas[0].url, f"code-{key}")
            assert (done.status == 200) is ok, (key, done.status)
    assert f"install refused enterprise=- team={b.team}" in caplog.text
    store = replicas[0].services.install.store
    assert store.inner.find_installation(enterprise_id=None, team_id=b.team) is None
    for place, served in ((a, True), (b, False), (e1, True)):
        command_from(replicas[0].sender, place, "opt-out")
        assert (place.url in answer_at(fake, place.key)) is served, place.key
    # A leaves the list: what it stored is no longer used
    only_org = settings.model_copy(update={"install_teams": ["E0ORG"]})
    replicas.append(Replica(only_org, engine, fake))
    command_from(replicas[1].sender, a, "opt-out", key="A2")
    assert "not installed in this workspace" in answer_at(fake, "A2")
