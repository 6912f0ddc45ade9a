"""OAuth install for many workspaces or a whole Enterprise Grid org, through Bolt's own flow.

On when ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` are set (HTTP mode, with the signing
secret); a static ``SLACK_BOT_TOKEN`` stays the simple default. Bolt serves
``/slack/install`` and ``/slack/oauth_redirect``; installs and OAuth states live in
slack_sdk's SQLAlchemy stores on the same database as the opt-out status
(``FAQBOT_DATABASE_URL``, else SQLite under ``FAQBOT_STATE_DIR``), with every token encrypted
(``faqbot.slack.installations``, key ``FAQBOT_TOKEN_KEY``: OAuth mode does not start
without one). Bolt's authorize finds the token of the workspace (or, for an org-wide
install, the org) each request comes from and refreshes rotating tokens before they
expire, once across replicas (``LockedTokenRotator``). Every Web API call, ``oauth.v2.access``
included, goes through the app's client, so ``FAQBOT_SLACK_API_URL`` moves all of them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import InstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.engine import make_url

from faqbot.errors import ConfigError
from faqbot.privacy import quiet_logger
from faqbot.settings import Settings
from faqbot.slack.installations import (
    MAKE_KEY,
    AllowedInstallationStore,
    LockedTokenRotator,
    RefreshLeases,
    TokenCipher,
    WideInstallationStore,
)
from faqbot.slack.manifest import BOT_SCOPES
from faqbot.state.opt_out import sqlite_url

log = logging.getLogger("faqbot.slack")

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
#: An OAuth state is good for this long (the time an admin has to click Allow).
STATE_SECONDS = 600
#: Refresh rotating tokens this long before they expire (Bolt's default is 120).
REFRESH_MINUTES = 120
#: The library loggers handed to Bolt's OAuth parts (state values, codes: see privacy.py).
OAUTH_LOGGER = "slack_bolt.faqbot.oauth"


def require_key(settings: Settings) -> TokenCipher:
    """The cipher for ``FAQBOT_TOKEN_KEY``; a ConfigError saying how to make one if unset."""
    key = settings.token_key.get_secret_value() if settings.token_key else ""
    if not key.strip():
        raise ConfigError("OAuth mode (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) keeps each "
                          "workspace's tokens encrypted and needs FAQBOT_TOKEN_KEY: make one "
                          f"with `{MAKE_KEY}` and keep it with your other secrets (losing it "
                          "means installing again)")
    return TokenCipher(key)


def database_url(settings: Settings) -> str:
    """The lasting-state database: ``FAQBOT_DATABASE_URL``, else SQLite in the state folder."""
    if settings.database_url:
        return settings.database_url.get_secret_value()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return sqlite_url(settings.state_dir)


@dataclass
class OAuthInstall:
    """The stores, Bolt's settings and authorize for OAuth mode (``close`` releases them)."""

    engine: Engine
    tables: WideInstallationStore  # slack_sdk's tables (ciphertext), for listing org installs
    store: InstallationStore
    state_store: SQLAlchemyOAuthStateStore
    settings: OAuthSettings
    authorize: InstallationStoreAuthorize

    def close(self) -> None:
        self.engine.dispose()

    def client_for(self, client: WebClient, team: str) -> WebClient | None:
        """A client with the bot token serving ``team`` (a workspace or an org id), for work
        outside a request (reminders, admin DMs); None when nothing is installed there.

        A workspace of a Grid org has no install of its own: with one org-wide install (the
        usual case) its token is used; with several, a workspace is not matched to its org.
        """
        found = self.store.find_installation(enterprise_id=None, team_id=team)
        if found is None:  # an org-wide install is stored under the org's id
            found = self.store.find_installation(enterprise_id=team, team_id=None,
                                                 is_enterprise_install=True)
        orgs = self.org_ids() if found is None else []
        if len(orgs) == 1:
            found = self.store.find_installation(enterprise_id=orgs[0], team_id=None,
                                                 is_enterprise_install=True)
        if found is None or not found.bot_token:
            return None
        return WebClient(token=found.bot_token, base_url=client.base_url,
                         logger=client.logger, retry_handlers=client.retry_handlers)

    def org_ids(self) -> list[str]:
        """The Enterprise org ids with an org-wide install."""
        table = self.tables.installations
        query = (select(table.c.enterprise_id).distinct()
                 .where(table.c.client_id == self.tables.client_id)
                 .where(table.c.is_enterprise_install.is_(True))
                 .where(table.c.enterprise_id.is_not(None)))
        with self.engine.connect() as conn:
            return [row[0] for row in conn.execute(query)]


def open_oauth(settings: Settings, client: WebClient) -> OAuthInstall:
    """Everything OAuth mode needs, on ``client`` (its base URL reaches every call)."""
    cipher = require_key(settings)
    assert settings.slack_client_id and settings.slack_client_secret
    client_id = settings.slack_client_id
    client_secret = settings.slack_client_secret.get_secret_value()
    url = database_url(settings)
    # hide_parameters: SQLAlchemy's own log lines never show a value (a state, a token)
    engine = create_engine(url, hide_parameters=True, pool_pre_ping=True)
    logger = quiet_logger(OAUTH_LOGGER)
    inner = WideInstallationStore(client_id=client_id, engine=engine, logger=logger)
    inner.create_tables()
    store = AllowedInstallationStore(inner, cipher, frozenset(settings.install_teams))
    state_store = SQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=engine,
                                            logger=logger)
    state_store.create_tables()
    authorize = InstallationStoreAuthorize(
        logger=logger, installation_store=store, client_id=client_id,
        client_secret=client_secret, token_rotation_expiration_minutes=REFRESH_MINUTES,
        cache_enabled=True, client=client)
    authorize.token_rotator = LockedTokenRotator(
        client_id=client_id, client_secret=client_secret, client=client, store=store,
        leases=RefreshLeases(engine))
    oauth_settings = OAuthSettings(
        client_id=client_id, client_secret=client_secret, scopes=list(BOT_SCOPES),
        user_scopes=[], install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH,
        installation_store=store, state_store=state_store,
        state_expiration_seconds=STATE_SECONDS,
        token_rotation_expiration_minutes=REFRESH_MINUTES, logger=logger)
    log.info("OAuth install on: %s and %s, installs in %s", INSTALL_PATH, REDIRECT_PATH,
             make_url(url).get_backend_name())
    if not settings.install_teams:
        log.warning("FAQBOT_INSTALL_TEAMS is empty: any workspace that reaches %s can install "
                    "faqbot and read the knowledge folder", INSTALL_PATH)
    bare = [entry for entry in settings.admin_user_ids if ":" not in entry]
    if bare:
        log.warning("FAQBOT_ADMIN_USER_IDS: %d bare user id(s) grant nothing with OAuth "
                    "installs; write TEAM_ID:USER_ID (a workspace or org id)", len(bare))
    return OAuthInstall(engine, inner, store, state_store, oauth_settings, authorize)


def app_options(install: OAuthInstall | None) -> dict[str, Any]:
    """The keyword arguments for ``App`` in OAuth mode (none for a static token)."""
    if install is None:
        return {}
    from faqbot.slack.blocks import NOT_INSTALLED

    return {"oauth_settings": install.settings, "installation_store": install.store,
            "authorize": install.authorize, "user_facing_authorize_error_message": NOT_INSTALLED}
