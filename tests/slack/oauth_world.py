"""The OAuth tests' world: workspaces A and B, Enterprise Grid org E with workspaces E1 and E2,
as the fake Slack knows them (oauth.v2.access answers, auth.test per token, team.info per
workspace), and the real install flow driven over HTTP the way a browser does it.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from faqbot.settings import Settings
from tests.slack.slack_fakes import OWNER, FakeSlack, Response, SlackSender, make_settings

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "test-client-secret"
APP_ID = "A1"
ORG = "E0ORG"


@dataclass(frozen=True)
class Place:
    """One workspace as Slack sends its requests: team id, org id, whether org-wide."""

    key: str  # "A", "B", "E1", "E2"
    team: str
    name: str
    url: str
    enterprise: str | None = None

    @property
    def org_wide(self) -> bool:
        return self.enterprise is not None


WORKSPACES = {
    "A": Place("A", "TA0000001", "Alpha Works", "https://alpha-works.slack.com/"),
    "B": Place("B", "TB0000002", "Beta Studio", "https://beta-studio.slack.com/"),
    "E1": Place("E1", "TE1000003", "Echo Sales", "https://echo-sales.enterprise.slack.com/",
                enterprise=ORG),
    "E2": Place("E2", "TE2000004", "Echo Labs", "https://echo-labs.enterprise.slack.com/",
                enterprise=ORG),
}
TOKENS = {"A": "xoxb-100-alpha-token", "B": "xoxb-200-beta-token", "E": "xoxb-300-echo-org"}


def oauth_settings(index_dir: Path, fake: FakeSlack, **overrides: Any) -> Settings:
    """Settings for OAuth mode against the fake (no static bot token)."""
    values: dict[str, Any] = {"slack_bot_token": None, "slack_client_id": CLIENT_ID,
                              "slack_client_secret": CLIENT_SECRET,
                              "token_key": Fernet.generate_key().decode()}
    return make_settings(index_dir, fake.api_url, **{**values, **overrides})


def teach(fake: FakeSlack) -> None:
    """Tell the fake about the three installs (codes), their tokens and the workspaces."""
    for place in WORKSPACES.values():
        fake.teams[place.team] = {"id": place.team, "name": place.name,
                                  "domain": place.url.split("//")[1].split(".")[0],
                                  "url": place.url, "enterprise_id": place.enterprise}
    for key in ("A", "B"):
        place = WORKSPACES[key]
        fake.codes[f"code-{key}"] = {
            "app_id": APP_ID, "authed_user": {"id": OWNER}, "scope": "commands,chat:write",
            "token_type": "bot", "access_token": TOKENS[key], "bot_user_id": f"UBOT{key}",
            "team": {"id": place.team, "name": place.name}, "enterprise": None,
            "is_enterprise_install": False}
        fake.tokens[TOKENS[key]] = {"url": place.url, "team": place.name,
                                    "team_id": place.team, "user_id": f"UBOT{key}",
                                    "bot_id": f"B{key}", "user": "faqbot"}
    fake.codes["code-E"] = {
        "app_id": APP_ID, "authed_user": {"id": OWNER}, "scope": "commands,chat:write",
        "token_type": "bot", "access_token": TOKENS["E"], "bot_user_id": "UBOTE",
        "team": None, "enterprise": {"id": ORG, "name": "Echo Corp"},
        "is_enterprise_install": True}
    fake.tokens[TOKENS["E"]] = {"url": "https://echo-corp.enterprise.slack.com/",
                                "team": "Echo Corp", "user_id": "UBOTE", "bot_id": "BE",
                                "user": "faqbot", "enterprise_id": ORG,
                                "is_enterprise_install": True}


def get(url: str, headers: dict[str, str] | None = None) -> tuple[Response, dict[str, str]]:
    """A GET as a browser makes it; the response and its headers (names lower-cased)."""
    request = urllib.request.Request(url, headers=headers or {})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return (Response(resp.status, resp.read(), time.perf_counter() - started),
                    {k.lower(): v for k, v in resp.headers.items()})
    except urllib.error.HTTPError as err:
        return (Response(err.code, err.read(), time.perf_counter() - started),
                {k.lower(): v for k, v in err.headers.items()})


def install(base_url: str, code: str, *, state: str | None = None) -> tuple[Response, str]:
    """The install flow: /slack/install (state cookie), then Slack's redirect back with
    ``code``. Returns the redirect's response and the state Bolt issued."""
    page, headers = get(base_url + "/slack/install")
    assert page.status == 200, page
    cookie = headers.get("set-cookie", "")
    issued = re.search(r"slack-app-oauth-state=([^;]+)", cookie)
    assert issued, f"no state cookie: {headers}"
    assert f"state={issued.group(1)}" in page.body.decode(), "the authorize link lacks the state"
    query = urllib.parse.urlencode({"code": code, "state": state or issued.group(1)})
    done, _ = get(f"{base_url}/slack/oauth_redirect?{query}",
                  {"Cookie": f"slack-app-oauth-state={issued.group(1)}"})
    return done, issued.group(1)


def _where(place: Place) -> dict[str, Any]:
    if place.org_wide:
        return {"team_id": place.team, "enterprise_id": place.enterprise,
                "is_enterprise_install": True}
    return {"team_id": place.team, "is_enterprise_install": False}


def command(sender: SlackSender, place: Place, text: str, *, user_id: str = OWNER,
            key: str | None = None) -> Response:
    """A signed /privacy from ``place``."""
    where = _where(place)
    form = {"token": "legacy", "team_id": place.team, "team_domain": place.key.lower(),
            "channel_id": "C1", "channel_name": "general", "user_id": user_id,
            "user_name": "someone", "command": "/privacy", "text": text, "api_app_id": APP_ID,
            "response_url": sender.fake.response_url(key or place.key), "trigger_id": "1.2.3",
            "is_enterprise_install": "true" if where["is_enterprise_install"] else "false"}
    if place.enterprise:
        form["enterprise_id"] = place.enterprise
    return sender.post(urllib.parse.urlencode(form), "application/x-www-form-urlencoded")


_n = iter(range(1, 1_000_000))


def event(sender: SlackSender, place: Place | None, inner: dict[str, Any], *,
          team: str | None = None, enterprise: str | None = None,
          org_wide: bool = False) -> Response:
    """A signed event_callback from ``place`` (or from ``team``/``enterprise`` as given)."""
    if place is not None:
        team, enterprise, org_wide = place.team, place.enterprise, place.org_wide
    body: dict[str, Any] = {
        "token": "legacy", "team_id": team, "api_app_id": APP_ID, "type": "event_callback",
        "event_id": f"EvOAuth{time.monotonic_ns()}{next(_n)}", "event_time": int(time.time()),
        "event": inner, "is_ext_shared_channel": False,
        "authorizations": [{"enterprise_id": enterprise, "team_id": None if org_wide else team,
                            "user_id": "UBOT", "is_bot": True,
                            "is_enterprise_install": org_wide}]}
    if enterprise:
        body["enterprise_id"] = enterprise
    return sender.post(json.dumps(body), "application/json")


def calls_with(fake: FakeSlack, method: str) -> Iterator[tuple[str | None, dict[str, Any]]]:
    for call in fake.api_calls(method):
        yield call.token, call.data
