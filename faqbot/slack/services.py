"""The long-lived parts the listeners use, each small and named for its job.

``build_services`` makes them once per app; ``create_app`` hands them to every listener in
Bolt's ``context`` (``services_of(context)``). Nothing here keeps a question.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from faqbot.answerer import Answerer, LocalAnswerer
from faqbot.catalog import Catalog
from faqbot.reload import Reloader
from faqbot.search import Engine
from faqbot.settings import Settings
from faqbot.slack.agent_view import AgentView
from faqbot.slack.asking import Asker
from faqbot.slack.counters import Feedback, Gaps, Outcomes
from faqbot.slack.dedupe import DEFAULT_TTL_SECONDS, EventDeduper
from faqbot.slack.directory import Directory
from faqbot.slack.later import Later
from faqbot.slack.opt_out_status import OptOutStatus, Place, open_opt_out_status
from faqbot.slack.shared_channels import SharedChannels
from faqbot.slack.types import MAX_PASSAGES
from faqbot.state.shared import (
    CounterStore,
    MemoryCounters,
    RedisCounters,
    RedisSeen,
    connect,
)

if TYPE_CHECKING:
    from faqbot.slack.oauth import OAuthInstall
    from faqbot.slack.reminders import Reminders

#: The key of the services in Bolt's per-request ``context``.
CONTEXT_KEY = "faqbot_services"
#: Threads that answer, render and deliver after the ack. Answering is CPU work: in the
#: server it waits on the worker process; in process, more threads than cores only contend.
ANSWER_THREADS = 4
#: Admin reloads and rollbacks run here, so a long rebuild holds no answer thread.
ADMIN_WORKERS = 2
#: An admin notice sent by one replica is not sent again by another within this long (the
#: same text means the same event: the same problem with the same version in service).
NOTICE_TTL_S = 60 * 60


@dataclass
class SlackServices:
    """What the Slack listeners share.

    ``asker`` answers questions; ``catalog`` reads the knowledge in service; ``answers`` runs
    the work after an ack, ``admin_work`` the admin commands; ``opt_out`` keeps the
    workspace's opt-out status; ``reloader`` is the hot-reload watcher and ``reminders`` the
    opt-out reminder loop when they run in this process (``start_reloader``,
    ``faqbot.slack.reminders.start_reminders``); ``install`` holds the OAuth stores in OAuth
    mode (``create_app`` opens them), where ``many_workspaces`` is true; ``notices`` marks
    the admin notices sent (Redis, so replicas send each once; None: every notice is sent).
    """

    catalog: Catalog
    asker: Asker
    feedback: Feedback
    outcomes: Outcomes
    directory: Directory
    deduper: EventDeduper
    answers: Later
    admin_work: Later
    admins: frozenset[str]
    opt_out: OptOutStatus
    shared: SharedChannels = field(default_factory=SharedChannels)
    agent_view: AgentView = field(default_factory=AgentView)
    reloader: Reloader | None = None
    reminders: Reminders | None = None
    #: the Redis client when ``FAQBOT_REDIS_URL`` is set (``/readyz`` pings it)
    redis: Any = None
    install: OAuthInstall | None = None
    many_workspaces: bool = False
    notices: RedisSeen | None = None

    def internal_docs(self) -> frozenset[str]:
        """The documents of kind ``internal`` in service (never quoted in shared channels)."""
        return frozenset(d.path for d in self.catalog.view().documents if d.kind == "internal")

    def is_admin(self, user_id: str | None, place: Place | None = None) -> bool:
        """True for the users ``FAQBOT_ADMIN_USER_IDS`` names for the place asked from.

        An entry ``TEAM_ID:USER_ID`` (a workspace id, or an Enterprise org id for all of its
        workspaces) counts only from there; a bare ``USER_ID`` counts in single-workspace
        mode only, so with many workspaces installed nobody is an admin everywhere by
        accident.
        """
        if not user_id:
            return False
        if not self.many_workspaces and user_id in self.admins:
            return True
        if place is None:
            return False
        return any(f"{where}:{user_id}" in self.admins
                   for where in (place.team, place.org) if where)

    def close(self, grace: float = 0.0) -> None:
        """Stop the reminders, drain the work in hand for up to ``grace`` seconds (the rest is
        told to ask again), then stop the answerer."""
        if self.reminders is not None:
            self.reminders.stop()
        self.answers.close(grace)
        self.admin_work.close()
        self.asker.answerer.close()
        self.opt_out.close()
        if self.redis is not None:
            self.redis.close()  # its pooled connections
        if self.install is not None:
            self.install.close()


def build_services(settings: Settings, engine: Engine, answerer: Answerer | None = None,
                   deduper: EventDeduper | None = None,
                   opt_out: OptOutStatus | None = None) -> SlackServices:
    """The services for one app; ``answerer`` defaults to answering in this process,
    ``opt_out`` to the store ``settings`` name (SQLite under ``FAQBOT_STATE_DIR``)."""
    catalog = Catalog(engine)
    counters: CounterStore = MemoryCounters()
    seen: RedisSeen | None = None
    client: Any = None
    notices: RedisSeen | None = None
    if settings.redis_url:  # shared by replicas and kept across restarts
        client = connect(settings.redis_url.get_secret_value())
        counters = RedisCounters(client)
        seen = RedisSeen(client, DEFAULT_TTL_SECONDS)
        notices = RedisSeen(client, NOTICE_TTL_S, kind="notice", what="notices")
    outcomes = Outcomes(counters)
    hash_key = settings.hash_key.get_secret_value() if settings.hash_key else None
    asker = Asker(answerer or LocalAnswerer(engine), catalog, outcomes,
                  top_k=min(settings.top_k, MAX_PASSAGES), hash_key=hash_key,
                  gaps=Gaps(store=counters))
    return SlackServices(
        catalog=catalog, asker=asker, feedback=Feedback(counters), outcomes=outcomes,
        directory=Directory(per_team=settings.oauth), deduper=deduper or EventDeduper(shared=seen),
        answers=Later(ANSWER_THREADS, name="faqbot-answer"),
        admin_work=Later(ADMIN_WORKERS, name="faqbot-admin"),
        admins=frozenset(settings.admin_user_ids),
        opt_out=opt_out or open_opt_out_status(settings), many_workspaces=settings.oauth,
        notices=notices, redis=client,
    )


def services_of(context: Any) -> SlackServices:
    """The services a listener was handed (Bolt's ``context``, filled by ``create_app``)."""
    services = context.get(CONTEXT_KEY)
    if not isinstance(services, SlackServices):
        raise TypeError("no SlackServices in the listener's context: make the app with create_app")
    return services
