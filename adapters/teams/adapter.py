"""The Microsoft Teams adapter (adapters/base.py's contract), on botbuilder 4.17: `POST /api/messages` in,
Bot Connector calls out. The parts:

- http.py: the route and the Bot Framework authentication (JWT validation; credentials for our calls);
- turns.py: activities → neutral Events for the engine, and invoke answers;
- roster.py: conversation references, people's ids, team rosters;
- outbound.py: the delivery worker's send / update, paced, and the one Form reply outside the outbox;
- connector.py: our aiohttp Bot Connector client, which makes every Bot Connector call, one attempt each
  (botbuilder's own msrest client retries inside the call and is never used for HTTP);
- cards.py and inbound.py: pure rendering and reading of Adaptive Cards and activities.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from botframework.connector.auth import ServiceClientCredentialsFactory
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.base import Capability, Inbox
from adapters.images import Images
from adapters.teams.connector import BotConnector
from adapters.teams.http import PATH, Authentication, BotConfiguration, Endpoint
from adapters.teams.outbound import ConversationPacer, TeamsOutbound
from adapters.teams.roster import Roster
from adapters.teams.turns import TandemTeamsBot
from flows.core.types import Card, Event, Form, Handle


@dataclass(frozen=True)
class TeamsConfig:
    """The bot's Azure registration. No app id: local development, no authentication at all."""

    app_id: str | None = None
    app_password: str | None = None
    tenant_id: str | None = None
    app_type: str = "MultiTenant"
    # Tests and special clouds: who mints outbound tokens (default: MSAL with the app password).
    credentials_factory: ServiceClientCredentialsFactory | None = None
    sends_per_second: float = 7.0

    @property
    def authenticated(self) -> bool:
        return bool(self.app_id)


async def _not_mounted(event: Event) -> Form | None:
    raise RuntimeError("the Teams adapter is not mounted: its events have no engine to go to")


class TeamsAdapter:
    platform = "teams"
    # No home view; a private reply goes to the person's own chat; a Form is an input card in the
    # conversation; charts travel inside the card; sent cards are updated in place.
    capabilities = frozenset({Capability.UPDATE_IN_PLACE})

    def __init__(
        self,
        config: TeamsConfig,
        sessions: async_sessionmaker[AsyncSession],
        *,
        now: Callable[[], datetime] | None = None,
        images: Images | None = None,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.now = now or (lambda: datetime.now(UTC))
        self.handle: Handle = _not_mounted  # the engine, from `mount`
        self.auth = Authentication(
            BotConfiguration(config.app_id, config.app_password, config.app_type, config.tenant_id),
            config.credentials_factory,
        )
        # every Bot Connector call: sends, updates, new personal chats, roster reads (one aiohttp session)
        self.connector = BotConnector(self.auth.outbound_auth(config.app_id or ""))
        self.outbound = TeamsOutbound(
            sessions,
            self.connector,
            ConversationPacer(config.sends_per_second),
            self.now,
            tenant_id=config.tenant_id,
            images=images,
        )
        self.roster = Roster(sessions, self.connector, self.now, on_change=self.outbound.forget_targets)
        self.bot = TandemTeamsBot(self)
        self.endpoint = Endpoint(self.auth, self.bot.on_turn)

    # ------------------------------------------------------------ the Adapter contract

    def mount(self, app: web.Application, inbox: Inbox) -> None:
        self.handle = inbox.handle
        app.router.add_post(PATH, self.endpoint.handle_request)

    async def start(self) -> None:
        """Nothing to open: Teams calls us."""

    async def close(self) -> None:
        """Close the outbound HTTP session; a send after this is RetryLater."""
        await self.connector.close()

    async def send(self, target: dict[str, Any], card: Card) -> str | None:
        return await self.outbound.send(target, card)

    async def update(self, target: dict[str, Any], ref: str, card: Card) -> str | None:
        return await self.outbound.update(target, ref, card)

    # ------------------------------------------------------------ for the turns

    async def run(self, event: Event) -> Form | None:
        """Hand an event to the engine. (On SQLite, the turns' transactions queue on storage's write gate
        with every other writer in this process, in order, instead of in SQLite's busy handler.)"""
        return await self.handle(event)
