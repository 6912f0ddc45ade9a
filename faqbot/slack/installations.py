"""Where OAuth installs are kept: slack_sdk's SQLAlchemy stores, with the tokens encrypted.

slack_sdk's ``SQLAlchemyInstallationStore`` keeps tokens in clear. Here it is wrapped
(``SealedInstallationStore``): every token (and the incoming-webhook URL, a secret too) is
encrypted with Fernet before it is written and decrypted after it is read, so the database
holds ciphertext only. Fernet ciphertext is longer than the 200 characters slack_sdk's
columns allow (a rotating token is already over 100), so ``WideInstallationStore`` makes
those columns ``Text``; nothing else of slack_sdk's tables changes.
``AllowedInstallationStore`` adds ``FAQBOT_INSTALL_TEAMS``: only the listed workspaces and
orgs are stored and served.

A refresh token can be spent once. ``LockedTokenRotator`` takes a lease row in the same
database (``token_refresh_leases``) before it refreshes, reads the installation again under
the lease and refreshes only if nobody did meanwhile, so two replicas sharing one database
spend a refresh token once. A lease is a short row, not a held transaction, so it works the
same on SQLite and on Postgres, and a replica that dies holding one loses it after
``LEASE_SECONDS``.

Nothing here holds a message: ids, names, scopes, encrypted tokens and dates.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import time
from typing import Any, TypeVar

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, Text, delete, insert
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError

from faqbot.errors import ConfigError

log = logging.getLogger("faqbot.slack")

#: The fields of an Installation or Bot that are secrets, encrypted at rest.
SECRET_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token",
                 "incoming_webhook_url")
#: How to make a key, for the messages that ask for one.
MAKE_KEY = "faqbot token-key"
#: A refresh lease lapses after this long (a replica that died holding it).
LEASE_SECONDS = 30.0
#: How long a replica waits for another one's refresh before it gives up on this request.
WAIT_SECONDS = 15.0

Secret = TypeVar("Secret", Installation, Bot)


def new_key() -> str:
    """A fresh Fernet key (URL-safe base64 of 32 random bytes)."""
    return Fernet.generate_key().decode("ascii")


class TokenCipher:
    """Fernet with the key(s) from ``FAQBOT_TOKEN_KEY``; a bad key is a ConfigError.

    Several comma-separated keys change the key without reinstalling: the first encrypts
    what is written from now on, every one of them decrypts (``MultiFernet``).
    """

    def __init__(self, key: str) -> None:
        keys = [part.strip() for part in key.split(",") if part.strip()]
        try:
            fernets = [Fernet(part.encode("ascii")) for part in keys]
        except (ValueError, UnicodeEncodeError):
            fernets = []
        if not fernets:
            raise ConfigError("FAQBOT_TOKEN_KEY is not a Fernet key (32 url-safe base64-encoded "
                              f"bytes); make one with `{MAKE_KEY}`") from None
        self._fernet = MultiFernet(fernets)

    def seal(self, value: str | None) -> str | None:
        return None if value is None else self._fernet.encrypt(value.encode()).decode("ascii")

    def open(self, value: str | None) -> str | None:
        """The clear value; raises InvalidToken for ciphertext made with another key."""
        return None if value is None else self._fernet.decrypt(value.encode("ascii")).decode()


def _widened(table: Table) -> Table:
    for name in SECRET_FIELDS:
        if name in table.c:
            table.c[name].type = Text()
    return table


class WideInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's store, with room in the token columns for ciphertext."""

    @classmethod
    def build_installations_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _widened(super().build_installations_table(metadata, table_name))

    @classmethod
    def build_bots_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _widened(super().build_bots_table(metadata, table_name))


class SealedInstallationStore(InstallationStore):
    """An InstallationStore that encrypts the secrets before the inner store sees them."""

    def __init__(self, inner: InstallationStore, cipher: TokenCipher) -> None:
        self.inner = inner
        self.cipher = cipher

    @property
    def logger(self) -> logging.Logger:
        return self.inner.logger

    def _sealed(self, item: Secret) -> Secret:
        sealed = copy.copy(item)
        for name in SECRET_FIELDS:
            if hasattr(sealed, name):
                setattr(sealed, name, self.cipher.seal(getattr(item, name)))
        return sealed

    def _opened(self, item: Secret | None) -> Secret | None:
        if item is None:
            return None
        try:
            for name in SECRET_FIELDS:
                if hasattr(item, name):
                    setattr(item, name, self.cipher.open(getattr(item, name)))
        except InvalidToken:
            # written with another key: unusable, as if not installed (ids only in the log)
            log.warning("stored tokens for enterprise=%s team=%s cannot be decrypted with "
                        "FAQBOT_TOKEN_KEY (another key?): install again",
                        item.enterprise_id or "-", item.team_id or "-")
            return None
        return item

    def save(self, installation: Installation) -> None:
        self.inner.save(self._sealed(installation))
        log.info("installation saved enterprise=%s team=%s org_wide=%s",
                 installation.enterprise_id or "-", installation.team_id or "-",
                 bool(installation.is_enterprise_install))

    def save_bot(self, bot: Bot) -> None:
        self.inner.save_bot(self._sealed(bot))

    def find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                 is_enterprise_install: bool | None = False) -> Bot | None:
        return self._opened(self.inner.find_bot(enterprise_id=enterprise_id, team_id=team_id,
                                                is_enterprise_install=is_enterprise_install))

    def find_installation(self, *, enterprise_id: str | None, team_id: str | None,
                          user_id: str | None = None,
                          is_enterprise_install: bool | None = False) -> Installation | None:
        return self._opened(self.inner.find_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id,
            is_enterprise_install=is_enterprise_install))

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.inner.delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    def delete_installation(self, *, enterprise_id: str | None, team_id: str | None,
                            user_id: str | None = None) -> None:
        self.inner.delete_installation(enterprise_id=enterprise_id, team_id=team_id,
                                       user_id=user_id)

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.inner.delete_all(enterprise_id=enterprise_id, team_id=team_id)
        log.info("installation deleted enterprise=%s team=%s", enterprise_id or "-",
                 team_id or "-")


class AllowedInstallationStore(SealedInstallationStore):
    """The sealed store, for the workspaces and orgs ``allowed`` only (empty: everyone).

    An install from anywhere else is not stored (Bolt shows its failure page), and what was
    stored before a place left the list is no longer used.
    """

    def __init__(self, inner: InstallationStore, cipher: TokenCipher,
                 allowed: frozenset[str] = frozenset()) -> None:
        super().__init__(inner, cipher)
        self.allowed = allowed

    def permitted(self, enterprise_id: str | None, team_id: str | None) -> bool:
        return not self.allowed or bool({enterprise_id, team_id} & self.allowed)

    def _check(self, item: Installation | Bot) -> None:
        if not self.permitted(item.enterprise_id, item.team_id):
            log.warning("install refused enterprise=%s team=%s: not in FAQBOT_INSTALL_TEAMS",
                        item.enterprise_id or "-", item.team_id or "-")
            raise BoltError("this workspace or org may not install faqbot")

    def save(self, installation: Installation) -> None:
        self._check(installation)
        super().save(installation)

    def save_bot(self, bot: Bot) -> None:
        self._check(bot)
        super().save_bot(bot)

    def find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                 is_enterprise_install: bool | None = False) -> Bot | None:
        if not self.permitted(enterprise_id, team_id):
            return None
        return super().find_bot(enterprise_id=enterprise_id, team_id=team_id,
                                is_enterprise_install=is_enterprise_install)

    def find_installation(self, *, enterprise_id: str | None, team_id: str | None,
                          user_id: str | None = None,
                          is_enterprise_install: bool | None = False) -> Installation | None:
        if not self.permitted(enterprise_id, team_id):
            return None
        return super().find_installation(enterprise_id=enterprise_id, team_id=team_id,
                                         user_id=user_id,
                                         is_enterprise_install=is_enterprise_install)


_leases_metadata = MetaData()
_leases = Table(
    "token_refresh_leases", _leases_metadata,
    Column("install", String(80), primary_key=True),
    Column("until", DateTime, nullable=False),
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class RefreshLeases:
    """One row per installation being refreshed: whoever inserts (or revives) it holds it."""

    def __init__(self, engine: Engine, seconds: float = LEASE_SECONDS) -> None:
        self.engine = engine
        self.seconds = seconds
        _leases_metadata.create_all(engine)

    def claim(self, install: str) -> bool:
        now = _now()
        until = now + dt.timedelta(seconds=self.seconds)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_leases).values(install=install, until=until))
            return True
        except IntegrityError:  # held, or lapsed: revive it only if it lapsed
            with self.engine.begin() as conn:
                revived = conn.execute(sql_update(_leases)
                                       .where(_leases.c.install == install)
                                       .where(_leases.c.until < now).values(until=until))
                return revived.rowcount == 1

    def release(self, install: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(_leases).where(_leases.c.install == install))


def install_key(installation: Installation) -> str:
    """The lease key of one install: the org for org-wide installs, else org and workspace."""
    team = "-" if installation.is_enterprise_install else (installation.team_id or "-")
    return f"{installation.enterprise_id or '-'}/{team}"


def _due(installation: Installation, minutes: int) -> bool:
    soon = time.time() + minutes * 60
    return any(expires is not None and expires <= soon
               for expires in (installation.bot_token_expires_at,
                               installation.user_token_expires_at))


class LockedTokenRotator(TokenRotator):
    """Bolt's token rotation, once per refresh token across every replica on one database."""

    def __init__(self, *, client_id: str, client_secret: str, client: WebClient,
                 store: InstallationStore, leases: RefreshLeases,
                 wait: float = WAIT_SECONDS) -> None:
        super().__init__(client_id=client_id, client_secret=client_secret, client=client)
        self.store = store
        self.leases = leases
        self.wait = wait

    def perform_token_rotation(self, *, installation: Installation,
                               minutes_before_expiration: int = 120) -> Installation | None:
        if not _due(installation, minutes_before_expiration):
            return None
        key = install_key(installation)
        deadline = time.monotonic() + self.wait
        while True:
            if self.leases.claim(key):
                try:
                    return self._rotate_held(installation, minutes_before_expiration)
                finally:
                    self.leases.release(key)
            fresh = self._reread(installation)
            if fresh is not None and not _due(fresh, minutes_before_expiration):
                return fresh  # another replica refreshed it while we waited
            if time.monotonic() > deadline:
                log.warning("token refresh for %s still held by another replica after %.0f s",
                            key, self.wait)
                return None
            time.sleep(0.05)

    def _rotate_held(self, installation: Installation, minutes: int) -> Installation | None:
        fresh = self._reread(installation) or installation
        if not _due(fresh, minutes):
            return fresh  # refreshed by another replica before we got the lease
        rotated = super().perform_token_rotation(installation=fresh,
                                                 minutes_before_expiration=minutes)
        if rotated is not None:
            self.store.save(rotated)  # saved before the lease goes, so the next reader sees it
            log.info("tokens refreshed for %s", install_key(rotated))
        return rotated

    def _reread(self, installation: Installation) -> Installation | None:
        fresh = self.store.find_installation(
            enterprise_id=installation.enterprise_id, team_id=installation.team_id,
            is_enterprise_install=installation.is_enterprise_install)
        if fresh is None:
            return None
        # Bolt blanks the installer's user token for other users; keep what it gave us
        for name in ("user_token", "user_refresh_token", "user_token_expires_at",
                     "user_scopes"):
            value: Any = getattr(installation, name)
            if value is None:
                setattr(fresh, name, None)
        return fresh
