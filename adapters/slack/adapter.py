"""The Slack adapter (adapters/base.py's contract): outbox deliveries through `slack_sdk`'s AsyncWebClient,
and, once mounted, the inbound half (SlackInbound: `POST /slack/events`, or Socket Mode) and OAuth installs.

Retries belong to the delivery worker alone: the client is built without slack_sdk's retry handlers, and
every failure is classified here as `RetryLater` (429 with its Retry-After, 5xx, timeouts, Slack's own
transient errors) or `PermanentFailure` (a channel that is gone, an app that was removed, …).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.base import Capability, Inbox, PermanentFailure, RetryLater
from adapters.images import Images, StoredImage
from adapters.slack import render, spec
from adapters.slack.install import NotInstalled, Workspaces
from adapters.slack.pacing import PACED_METHODS, WorkspacePacer
from flows.core.types import Card, Form, Image

if TYPE_CHECKING:
    from adapters.slack.inbound import SlackInbound
    from adapters.slack.socket_mode import SocketMode

log = logging.getLogger("tandem.slack")

# The mounted app's SlackInbound (tests drive it; bot.slack_mount.SLACK is this key).
INBOUND: web.AppKey[SlackInbound] = web.AppKey("slack")

# ok:false errors that can never succeed as addressed: a co-chair must fix the channel or reinstall.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "account_inactive",
        "user_not_found",
        "users_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "user_not_in_channel",
        "token_revoked",
        "token_expired",
        "invalid_auth",
        "not_authed",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "team_access_not_granted",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "ekm_access_denied",
        "org_login_required",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "too_many_attachments",
        "messages_tab_disabled",
        "file_uploads_disabled",
        "file_uploads_except_images_disabled",
        "file_type_not_allowed",
        "file_upload_size_restricted",
        "alt_txt_too_large",
    }
)
# Errors that mean the app is no longer installed: stop using the token.
UNINSTALLED_ERRORS = frozenset({"token_revoked", "account_inactive", "invalid_auth", "not_authed"})
# chat.update errors after which the message is posted anew instead.
GONE_MESSAGE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


def web_client(
    base_url: str, session: aiohttp.ClientSession | None = None, timeout: int = 10
) -> AsyncWebClient:
    """An AsyncWebClient with no retry handlers of its own (the outbox retries)."""
    base = base_url if base_url.endswith("/") else base_url + "/"
    return AsyncWebClient(base_url=base, session=session, timeout=timeout, retry_handlers=[])


def classify(exc: BaseException, what: str) -> RetryLater | PermanentFailure:
    """Map a Web API failure to the delivery worker's two outcomes."""
    if isinstance(exc, SlackApiError):
        status = int(getattr(exc.response, "status_code", 0) or 0)
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = str(data.get("error") or f"HTTP {status}")
        if status == 429 or error == "ratelimited":
            headers = getattr(exc.response, "headers", {}) or {}
            raw = headers.get("Retry-After") or headers.get("retry-after")
            try:
                after = float(raw) if raw is not None else None
            except ValueError:
                after = None
            return RetryLater(f"{what}: rate limited", after if after is None else max(1.0, after))
        if status >= 500:
            return RetryLater(f"{what}: Slack answered HTTP {status} ({error})")
        if error in PERMANENT_ERRORS:
            return PermanentFailure(f"{what}: {error}")
        return RetryLater(f"{what}: {error}")
    if isinstance(exc, NotInstalled):
        return PermanentFailure(f"{what}: {exc}")
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return RetryLater(f"{what}: Slack did not answer in time")
    if isinstance(exc, aiohttp.ClientError | SlackClientError | OSError):
        return RetryLater(f"{what}: {type(exc).__name__}: {exc}")
    return RetryLater(f"{what}: {type(exc).__name__}: {exc}")


MAX_FILE_TITLE = 100
MAX_ALT_TXT = 1000  # files.getUploadURLExternal: alt_txt_too_large past 1,000 characters


def stored_images(card: Card) -> list[Image]:
    """The card's images that are stored by Tandem, not web URLs (Slack's image block needs a URL)."""
    return [e for e in card.elements if isinstance(e, Image) and not render.is_web_url(e.url)]


def card_without(card: Card) -> Card:
    """`card` without its stored images (they are uploaded as files after it)."""
    kept = tuple(e for e in card.elements if not (isinstance(e, Image) and not render.is_web_url(e.url)))
    return dataclasses.replace(card, elements=kept)


def _error_of(exc: BaseException) -> str | None:
    if isinstance(exc, SlackApiError) and isinstance(exc.response.data, dict):
        error = exc.response.data.get("error")
        return str(error) if error else None
    return None


# slack_sdk logs every Web API request body at DEBUG, and slack_bolt every request it answers: a form shown
# again to change poll answers holds that person's own answers (docs/privacy.md: no log line may tie an
# answer to a person). Their DEBUG lines are off whatever the root logger's level.
REQUEST_BODY_LOGGERS = ("slack_sdk", "slack_bolt")


def quiet_request_body_logs() -> None:
    for name in REQUEST_BODY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.getLogger(name).level, logging.INFO))


@dataclass(frozen=True)
class SlackInboundConfig:
    """What the inbound half needs. `oauth_client`: (client id, secret) when Tandem takes OAuth installs;
    otherwise the install routes answer 404 with `no_installs` (the bot says which variables to set)."""

    signing_secret: str
    app_token: str | None = None  # Socket Mode
    oauth_client: tuple[str, str] | None = None
    no_installs: str = "OAuth installs are off in this Tandem."
    concurrency: int = 1  # acknowledged requests processed at once


async def _home_built_when_sent(workspace: str | None, user: str) -> Card:
    """SlackInbound asks for the App Home card, then `publish_home`s it, when a person opens App Home. The
    view goes through the outbox and is built when its row is sent, so nothing is read here."""
    return Card(summary="home", elements=())


class SlackAdapter:
    """send/update for the delivery worker; opens modals; once mounted, the inbound half too."""

    platform = "slack"
    capabilities = frozenset(
        {
            Capability.HOME_VIEW,
            Capability.EPHEMERAL,
            Capability.MODAL_FORMS,
            Capability.FILE_UPLOAD,
            Capability.UPDATE_IN_PLACE,
            Capability.SLASH_COMMAND,
        }
    )

    def __init__(
        self,
        workspaces: Workspaces,
        base_url: str,
        *,
        timeout: int = 10,
        images: Images | None = None,
        inbound: SlackInboundConfig | None = None,
        pacer: WorkspacePacer | None = None,
    ) -> None:
        quiet_request_body_logs()
        self.pacer = (
            pacer or WorkspacePacer()
        )  # Slack's posting rate per workspace (adapters/slack/pacing.py)
        self.workspaces = workspaces
        self.images = images or Images(workspaces.sessions)  # stored images (charts), read at send time
        self.base_url = base_url
        self.timeout = timeout
        self.inbound_config = inbound
        self._session: aiohttp.ClientSession | None = None
        self._dm_channels: dict[tuple[str, str], str] = {}
        # builds a person's App Home card (workspace, user id); outbox rows marked "home" publish it
        self.home_builder: Callable[[str | None, str], Awaitable[Card]] | None = None
        self.inbox: Inbox | None = None
        self.inbound: SlackInbound | None = None
        self.socket: SocketMode | None = None

    # ------------------------------------------------------------ the Adapter contract: inbound, lifecycle

    def mount(self, app: web.Application, inbox: Inbox) -> None:
        """`POST /slack/events` (and Socket Mode, with an app token), the OAuth install routes."""
        # These modules import this one, so they are imported when mounting, not with it.
        from adapters.slack.inbound import SlackInbound
        from adapters.slack.oauth import OAuthInstall
        from adapters.slack.socket_mode import SocketMode

        config = self.inbound_config
        if config is None:
            raise RuntimeError("the Slack adapter was built without its inbound configuration")
        self.inbox = inbox
        self.inbound = SlackInbound(
            signing_secret=config.signing_secret,
            workspaces=self.workspaces,
            adapter=self,
            handle=inbox.handle,
            home_card=_home_built_when_sent,
            api_url=self.base_url,
            concurrency=config.concurrency,
        )
        app[INBOUND] = self.inbound
        app.router.add_post(spec.EVENTS_PATH, self.inbound.http_handler)
        if config.oauth_client is not None:
            client_id, client_secret = config.oauth_client
            oauth = OAuthInstall(
                client_id=client_id,
                client_secret=client_secret,
                workspaces=self.workspaces,
                sessions=self.workspaces.sessions,
                now=self.workspaces.now,
                api_url=self.base_url,
            )
            app.router.add_get(spec.INSTALL_PATH, oauth.install)
            app.router.add_get(spec.OAUTH_REDIRECT_PATH, oauth.redirect)
        else:

            async def no_installs(_: web.Request) -> web.Response:
                return web.Response(status=404, text=config.no_installs)

            app.router.add_get(spec.INSTALL_PATH, no_installs)
            app.router.add_get(spec.OAUTH_REDIRECT_PATH, no_installs)
        if config.app_token:
            self.socket = SocketMode(self.inbound, config.app_token)

    async def start(self) -> None:
        if self.socket is not None:
            await self.socket.start()

    async def close(self) -> None:
        """No new events (Socket Mode first), finish the acknowledged ones, then close the HTTP session."""
        if self.socket is not None:
            await self.socket.stop()
        if self.inbound is not None:
            await self.inbound.drain()
        if self._session is not None and not self._session.closed:
            await self._session.close()

    # ------------------------------------------------------------ plumbing

    def client(self, token: str) -> AsyncWebClient:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        client = web_client(self.base_url, self._session, self.timeout)
        client.token = token
        return client

    async def _call(self, workspace: str | None, method: str, **kwargs: Any) -> dict[str, Any]:
        """One Web API call; raises RetryLater or PermanentFailure."""
        paced = method in PACED_METHODS
        try:
            token = await self.workspaces.token_for(workspace)
            if paced:
                await self.pacer.wait(workspace or "")
            async with asyncio.timeout(self.timeout):  # the shared session has no timeout of its own
                response = await self.client(token).api_call(method, json=kwargs)
        except Exception as exc:
            failure = await self._failure(exc, workspace, method)
            if paced and isinstance(failure, RetryLater) and failure.retry_after:
                self.pacer.hold(workspace or "", failure.retry_after)
            raise failure from exc
        data = response.data
        return data if isinstance(data, dict) else {}

    async def _failure(
        self, exc: BaseException, workspace: str | None, what: str
    ) -> RetryLater | PermanentFailure:
        """The outcome for a failed call; an uninstalled app's token is forgotten on the way."""
        if _error_of(exc) in UNINSTALLED_ERRORS and workspace is not None:
            await self._forget_token(workspace)
        return classify(exc, what)

    async def _forget_token(self, workspace: str) -> None:
        bot = self.workspaces.single_bot
        team = workspace or (bot.team_id if bot else "")
        try:
            await self.workspaces.revoke(team)
        except Exception:  # recording is best effort; the send is failed either way
            log.exception("could not record the revoked Slack token for %s", team)

    async def _dm_channel(self, workspace: str, user: str) -> str:
        key = (workspace, user)
        channel = self._dm_channels.get(key)
        if channel is None:
            data = await self._call(workspace, "conversations.open", users=user)
            channel = str((data.get("channel") or {}).get("id") or "")
            if not channel:
                raise RetryLater("conversations.open returned no channel")
            self._dm_channels[key] = channel
        return channel

    async def _channel_of(self, target: dict[str, Any]) -> str:
        workspace = str(target.get("workspace") or "")
        if "user" in target and not target.get("address"):
            return await self._dm_channel(workspace, str(target["user"]))
        address = str(target.get("address") or "")
        if not address:
            raise PermanentFailure(f"a Slack target without an address: {target}")
        if address[:1] in ("U", "W"):  # a person's id as a DM address
            return await self._dm_channel(workspace, address)
        return address

    # ------------------------------------------------------------ the Adapter protocol

    async def send(self, target: dict[str, Any], card: Card) -> str | None:
        workspace = str(target.get("workspace") or "")
        if target.get("home"):  # a home refresh: build the card now, from the current state
            if self.home_builder is not None:
                user = str(target["user"])
                await self._views_publish(
                    workspace or None, user, await self.home_builder(workspace or None, user)
                )
            return None
        files = stored_images(card)
        private = bool(target.get("private_to") and not target.get("direct"))
        if files and not private:
            return await self._send_with_files(target, card, files)
        body = render.message(card)
        channel = await self._channel_of(target)
        thread = target.get("thread")
        if private:
            user = str(target["private_to"])
            # the interaction's response_url first (valid 30 minutes, 5 uses): it also works in DMs
            # between two people and private channels the bot is not in
            url = target.get("reply_url")
            if url and await self._respond(str(url), body):
                return None
            args: dict[str, Any] = {"channel": channel, "user": user, **body}
            if thread:
                args["thread_ts"] = thread
            await self._call(workspace, "chat.postEphemeral", **args)
            return None  # ephemeral messages cannot be updated
        args = {"channel": channel, "unfurl_links": False, "unfurl_media": False, **body}
        if thread:
            args["thread_ts"] = thread
        data = await self._call(workspace, "chat.postMessage", **args)
        return f"{data.get('channel') or channel}:{data.get('ts')}"

    async def _send_with_files(self, target: dict[str, Any], card: Card, images: list[Image]) -> str | None:
        """A card with stored images (the pulse chart): the message without them, then the images, read
        from the database now, uploaded to the same conversation with files upload v2.

        Two steps, one outbox row. A retry must not post the message twice, so when the upload fails after
        the message went out, the RetryLater carries `progress` ({"ref": the posted message}); the
        delivery worker stores it in the row's target and the retry starts at the upload. (Making the
        upload an outbox row of its own would need the adapter to write rows the flow never decided, and
        the upload to wait for its message's row; progress on the one row keeps order and retries in one
        place.) An upload is only shared by files.completeUploadExternal, so repeating the whole upload
        after a failed completion cannot show the file twice.
        An image that is not stored (any more) fails the row for good before anything is posted: the
        team's co-chairs see the reason in `tandem outbox`, and nobody gets a report that silently lacks
        its chart."""
        workspace = str(target.get("workspace") or "")
        progress = dict(target.get("progress") or {})
        uploads: list[tuple[Image, StoredImage]] = []
        for image in images:
            stored = await self.images.load(image.url)  # a database error is retried like any other
            if stored is None:
                reason = "it is not available (not a stored image, or no longer stored)"
                if progress.get("ref"):
                    reason += "; the message itself was posted"
                raise PermanentFailure(f"cannot upload the image {image.url}: {reason}")
            uploads.append((image, stored))
        channel = await self._channel_of(target)
        thread = target.get("thread")
        ref = progress.get("ref")
        if not ref:
            ref = await self.send({k: v for k, v in target.items() if k != "progress"}, card_without(card))
        try:  # right under the message: in its thread if it went to one, else in the conversation
            await self._upload(workspace, channel, str(thread) if thread else None, uploads)
        except RetryLater as exc:
            raise RetryLater(str(exc), exc.retry_after, progress={"ref": ref}) from exc
        except PermanentFailure as exc:
            raise PermanentFailure(f"{exc} (the message itself was posted: {ref})") from exc
        return ref

    async def _upload(
        self, workspace: str, channel: str, thread: str | None, uploads: list[tuple[Image, StoredImage]]
    ) -> None:
        """files.getUploadURLExternal, the bytes to each upload_url, then one files.completeUploadExternal
        sharing them all in `channel` (slack_sdk's files_upload_v2)."""
        what = "files_upload_v2"
        items = [
            {
                "content": stored.content,
                "filename": stored.name,
                "title": render.cut(image.alt, MAX_FILE_TITLE) or "image",
                "alt_txt": render.cut(image.alt, MAX_ALT_TXT) or None,
            }
            for image, stored in uploads
        ]
        try:
            token = await self.workspaces.token_for(workspace or None)
            # three requests and the file's bytes: a longer allowance than one call's
            async with asyncio.timeout(self.timeout * 3):
                await self.client(token).files_upload_v2(
                    file_uploads=items, channel=channel, thread_ts=thread, request_file_info=False
                )
        except Exception as exc:
            raise await self._failure(exc, workspace or None, what) from exc

    async def update(self, target: dict[str, Any], ref: str, card: Card) -> str | None:
        channel, _, ts = ref.partition(":")
        if not channel or not ts:
            return await self.send(target, card)
        workspace = str(target.get("workspace") or "")
        try:
            # stored images were uploaded with the original message: not again on each update
            body = render.message(card_without(card))
            await self._call(workspace, "chat.update", channel=channel, ts=ts, **body)
        except PermanentFailure:
            raise
        except RetryLater as exc:
            if _error_of(exc.__cause__ or exc) in GONE_MESSAGE_ERRORS:
                return await self.send(target, card)
            raise
        return ref

    async def _respond(self, url: str, body: dict[str, Any]) -> bool:
        """An ephemeral reply through a response_url; False if it is used up (then chat.postEphemeral)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        payload = {"response_type": "ephemeral", "replace_original": False, **body}
        try:
            async with self._session.post(
                url, json=payload, timeout=aiohttp.ClientTimeout(total=self.timeout)
            ) as response:
                if response.status == 429:
                    after = response.headers.get("Retry-After")
                    raise RetryLater("response_url: rate limited", float(after) if after else None)
                if response.status >= 500:
                    raise RetryLater(f"response_url: HTTP {response.status}")
                return response.status < 300
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise classify(exc, "response_url") from exc

    # ------------------------------------------------------------ interactive surfaces

    async def open_form(
        self, workspace: str | None, trigger_id: str, form: Form, routing: dict[str, Any]
    ) -> str | None:
        """views.open right away (trigger ids last 3 seconds); the view id."""
        view = render.modal(form, routing)
        data = await self._call(workspace, "views.open", trigger_id=trigger_id, view=view)
        return str((data.get("view") or {}).get("id") or "") or None

    async def open_loading(self, workspace: str | None, trigger_id: str) -> tuple[str, str] | None:
        """views.open of a "loading" modal, right after the ack of a form button's click; (view id, hash),
        or None if Slack refused (logged: the form is then opened with the trigger id, if still alive)."""
        try:
            data = await self._call(
                workspace, "views.open", trigger_id=trigger_id, view=render.loading_modal()
            )
        except (RetryLater, PermanentFailure) as exc:
            log.warning("could not open the loading modal in %s: %s", workspace, exc)
            return None
        view = data.get("view") or {}
        view_id = str(view.get("id") or "")
        return (view_id, str(view.get("hash") or "")) if view_id else None

    async def update_view(self, workspace: str | None, opened: tuple[str, str], view: dict[str, Any]) -> bool:
        """views.update of a modal opened earlier; False if it is gone (the person closed it) or Slack
        refused (logged)."""
        view_id, view_hash = opened
        args: dict[str, Any] = {"view_id": view_id, "view": view}
        if view_hash:  # Slack refuses the update if the view changed since (hash_conflict)
            args["hash"] = view_hash
        try:
            await self._call(workspace, "views.update", **args)
        except (RetryLater, PermanentFailure) as exc:
            log.info("could not update modal %s in %s: %s", view_id, workspace, exc)
            return False
        return True

    async def publish_home(self, workspace: str | None, user_id: str, card: Card) -> None:
        """A person opened App Home (SlackInbound): their view goes out through the outbox, built from the
        state when the row is sent (`card` is not used; see `_home_built_when_sent`)."""
        if self.inbox is None:
            raise RuntimeError("the Slack adapter is not mounted: no outbox to publish App Home through")
        await self.inbox.refresh_home(self.platform, user_id, workspace)

    async def _views_publish(self, workspace: str | None, user_id: str, card: Card) -> None:
        await self._call(workspace, "views.publish", user_id=user_id, view=render.home(card))
