"""Which bot token to use for a workspace, and whether the app is still installed there.

Two modes, as DESIGN.md §2: one workspace (`SLACK_BOT_TOKEN`) or OAuth installs (tokens in
`slack_workspaces`, encrypted with `TANDEM_SECRET_KEY`). In both, `tokens_revoked` / `app_uninstalled`
are recorded in the database so every replica stops sending there; the teams' data is kept.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import slack_install

log = logging.getLogger("tandem.slack")


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenBox:
    """Fernet encryption of bot tokens at rest. Any TANDEM_SECRET_KEY string works: a 32-byte Fernet key
    is derived from it with SHA-256 (use a long random value)."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("TANDEM_SECRET_KEY is empty")
        key = base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())
        self._fernet = Fernet(key)

    def seal(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("a stored Slack token does not decrypt with TANDEM_SECRET_KEY") from exc


@dataclass(frozen=True)
class Bot:
    """The app's bot in one workspace."""

    token: str
    team_id: str
    enterprise_id: str = ""
    bot_user_id: str | None = None
    bot_id: str | None = None


class NotInstalled(Exception):
    """No usable token for that workspace: never installed, uninstalled or revoked."""


class Workspaces:
    """Bot tokens by workspace, with revocations read from the database (cached briefly)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        now: Callable[[], datetime],
        *,
        bot_token: str | None = None,
        secret_key: str | None = None,
        cache_seconds: float = 5.0,
    ) -> None:
        self.sessions = sessions
        self.now = now
        self.single_token = bot_token
        self.box = TokenBox(secret_key) if secret_key else None
        self.cache_seconds = cache_seconds
        self._revoked: set[str] = set()  # token fingerprints that must not be used
        self._revoked_at = -1e9
        self._bots: dict[tuple[str, str], Bot] = {}
        self._single: Bot | None = None

    @property
    def single(self) -> bool:
        return self.single_token is not None

    def remember_single(
        self, team_id: str, enterprise_id: str, bot_user_id: str | None, bot_id: str | None
    ) -> Bot:
        """What auth.test said about the single-workspace token."""
        assert self.single_token is not None
        self._single = Bot(self.single_token, team_id, enterprise_id, bot_user_id, bot_id)
        return self._single

    @property
    def single_bot(self) -> Bot | None:
        return self._single

    async def _refresh_revocations(self) -> None:
        if time.monotonic() - self._revoked_at < self.cache_seconds:
            return
        async with self.sessions() as session:
            rows = await slack_install.revoked(session)
        self._revoked = {r.token_fingerprint for r in rows if r.token_fingerprint}
        self._revoked_at = time.monotonic()

    async def token_for(self, workspace: str | None, enterprise_id: str = "") -> str:
        """The bot token to call the Web API with for `workspace` (a Slack team id; "" or None in
        single-workspace mode). NotInstalled if there is none or it was revoked."""
        await self._refresh_revocations()
        if self.single_token is not None:
            if fingerprint(self.single_token) in self._revoked:
                raise NotInstalled("the app was uninstalled or its token revoked in this workspace")
            return self.single_token
        bot = await self.find(workspace, enterprise_id) if workspace else await self.sole()
        if bot is None and not workspace:
            raise NotInstalled(
                "no Slack workspace recorded for this address and Tandem is installed in several "
                "(or none); a member speaking to Tandem there records it"
            )
        if bot is None:
            raise NotInstalled(f"Tandem is not installed in Slack workspace {workspace}")
        return bot.token

    async def sole(self) -> Bot | None:
        """The only active OAuth installation, if there is exactly one: addresses stored without a
        workspace (a team file lists channel ids only) are in it."""
        async with self.sessions() as session:
            rows = await slack_install.active(session)
        if len(rows) != 1:
            return None
        return await self.find(rows[0].team_id, rows[0].enterprise_id)

    async def find(self, team_id: str, enterprise_id: str = "") -> Bot | None:
        if self.single_token is not None:
            return self._single or Bot(self.single_token, team_id, enterprise_id)
        async with self.sessions() as session:
            row = await slack_install.find(session, team_id, enterprise_id)
            if row is None and enterprise_id:
                row = await slack_install.find_enterprise(session, enterprise_id)
            if row is None and enterprise_id:
                row = await slack_install.find(session, team_id, "")
        if row is None or row.revoked_at is not None or not row.bot_token_encrypted or self.box is None:
            return None
        return Bot(
            self.box.open(row.bot_token_encrypted),
            row.team_id,
            row.enterprise_id,
            row.bot_user_id,
            row.bot_id,
        )

    async def save_install(
        self,
        *,
        team_id: str,
        enterprise_id: str,
        bot_token: str,
        team_name: str | None,
        bot_user_id: str | None,
        bot_id: str | None,
        scopes: str | None,
        installer_user_id: str | None,
    ) -> None:
        if self.box is None:
            raise ValueError("TANDEM_SECRET_KEY is required to store Slack tokens")
        async with self.sessions() as session, session.begin():
            await slack_install.save(
                session,
                team_id=team_id,
                enterprise_id=enterprise_id,
                now=self.now(),
                team_name=team_name,
                bot_user_id=bot_user_id,
                bot_id=bot_id,
                bot_scopes=scopes,
                bot_token_encrypted=self.box.seal(bot_token),
                token_fingerprint=fingerprint(bot_token),
                installer_user_id=installer_user_id,
            )
        self._revoked_at = -1e9

    async def revoke(self, team_id: str, enterprise_id: str = "") -> None:
        """`tokens_revoked` / `app_uninstalled`: stop sending there; keep every team's data."""
        token_print: str | None = None
        if self.single_token is not None:
            token_print = fingerprint(self.single_token)
        else:
            bot = await self.find(team_id, enterprise_id)
            token_print = fingerprint(bot.token) if bot is not None else None
        async with self.sessions() as session, session.begin():
            await slack_install.mark_revoked(session, team_id, enterprise_id, self.now(), token_print)
        self._revoked_at = -1e9
        log.warning("Slack workspace %s: app uninstalled or token revoked; sending stopped", team_id)
