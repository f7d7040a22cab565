"""Slack request bodies → neutral Events. Pure functions: no I/O, easy to test.

`parse_request` checks a (signed) body's shape before anything else sees it and raises `PayloadError`
with a reason for anything malformed or truncated (the HTTP handler answers 400). `to_event` turns a
checked body into a neutral Event, or a `Lifecycle` note (home opened, app uninstalled, …), or None.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs

from adapters import json_input
from adapters.slack import render
from flows.core import form_rules
from flows.core.types import (
    ActionEvent,
    Actor,
    CommandEvent,
    Conversation,
    Event,
    InstalledEvent,
    MemberJoinedEvent,
    MessageEvent,
)

_MENTION = re.compile(r"^\s*(<@[A-Z0-9]+(\|[^>]*)?>[\s,:]*)+")
# Slack's escaped references in message and (with `should_escape: true`) slash command text
_REFERENCE = re.compile(r"<([@#!])?([^>|]*)(?:\|([^>]*))?>")


class PayloadError(ValueError):
    """A request body Tandem cannot read; the message is the reason returned with the 400."""


Kind = Literal["event", "url_verification", "command", "interactive", "ssl_check"]


@dataclass(frozen=True)
class Inbound:
    kind: Kind
    body: dict[str, Any]


@dataclass(frozen=True)
class Lifecycle:
    """A Slack event that is not a flow's business: App Home opened, tokens revoked, app uninstalled."""

    kind: Literal["home_opened", "uninstalled"]
    team_id: str
    enterprise_id: str = ""
    user_id: str | None = None


@dataclass(frozen=True)
class Translated:
    """What one request means for Tandem."""

    event: Event | None = None
    lifecycle: Lifecycle | None = None
    trigger_id: str | None = None
    response_url: str | None = None
    workspace: str = ""
    enterprise_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _need(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (kind is str and not value):
        raise PayloadError(f"{where}: missing or malformed {key!r}")
    return value


def parse_request(body: bytes, content_type: str) -> Inbound:
    """Check the shape of a Slack request body; PayloadError(reason) when it is malformed."""
    if not body:
        raise PayloadError("empty body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("body is not UTF-8") from exc
    if content_type == "application/json":
        return check_json(_load(text, "body"))
    if content_type == "application/x-www-form-urlencoded":
        form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
        if "payload" in form:
            return check_interactive(_load(form["payload"], "payload"))
        if "ssl_check" in form:
            return Inbound("ssl_check", form)
        if "command" in form:
            return check_command(form)
        raise PayloadError("form body is neither a slash command nor an interactive payload")
    raise PayloadError(f"unsupported content type {content_type or 'none'!r}")


def _load(text: str, what: str) -> Any:
    try:
        return json_input.load(text, what)
    except json_input.InputError as exc:
        raise PayloadError(str(exc)) from exc


def _types(data: dict[str, Any], fields: list[tuple[str, type | tuple[type, ...]]], where: str) -> None:
    """Each field present must have its JSON type (what the translation below reads as such)."""
    problem = json_input.first_problem(data, fields)
    if problem:
        raise PayloadError(f"{where}: {problem}")


# The envelope fields every kind of request may carry, read by workspace_of / sender_of and by bolt
_ENVELOPE: list[tuple[str, type | tuple[type, ...]]] = [
    ("team", dict),
    ("team.id", str),
    ("team_id", str),
    ("enterprise", dict),
    ("enterprise.id", str),
    ("enterprise_id", str),
    ("user", dict),
    ("user.id", str),
    ("user.name", str),
    ("user.username", str),
    ("user.team_id", str),
    ("user_id", str),
    ("trigger_id", str),
    ("response_url", str),
    ("is_enterprise_install", bool),
    ("is_ext_shared_channel", bool),
    ("authorizations", list),
    ("response_urls", list),
    ("command", str),  # bolt's matchers read these wherever they appear
    ("callback_id", str),
    ("event.type", str),
    ("event.subtype", str),
    ("event.callback_id", str),
    ("event", dict),
    ("message", dict),
    ("channel_id", str),
    ("api_app_id", str),
]
# What interactive_event reads of a button press or a modal
_INTERACTIVE: list[tuple[str, type | tuple[type, ...]]] = [
    ("channel", dict),
    ("channel.id", str),
    ("container", dict),
    ("container.channel_id", str),
    ("container.message_ts", str),
    ("container.thread_ts", str),
    ("container.view_id", str),
    ("view", dict),
    ("view.id", str),
    ("view.type", str),
    ("view.app_installed_team_id", str),
    ("view.team_id", str),
    ("view.hash", str),
    ("view.callback_id", str),
    ("view.private_metadata", str),
    ("view.blocks", list),
    ("view.state", dict),
    ("view.state.values", dict),
]
_ACTION: list[tuple[str, type | tuple[type, ...]]] = [
    ("action_id", str),
    ("block_id", str),
    ("type", str),
    ("selected_option", dict),
    ("selected_options", list),
]
# What callback_event reads of the events Tandem handles (other event types may carry other shapes:
# `user_change` has a user object)
_EVENT: list[tuple[str, type | tuple[type, ...]]] = [
    ("user", str),
    ("channel", str),
    ("text", str),
    ("thread_ts", str),
    ("tab", str),
    ("channel_type", str),
    ("team", str),
]
_HANDLED_EVENTS = ("app_mention", "message", "member_joined_channel", "app_home_opened", "tokens_revoked")


# Ids and names as long as the columns that keep them (identities.workspace is 100 characters, …); Slack's
# own are far shorter
_LIMITS: list[tuple[str, int]] = [
    *((path, 100) for path in ("team.id", "team_id", "enterprise.id", "enterprise_id", "user.id", "user_id")),
    *((path, 100) for path in ("user.team_id", "channel.id", "channel_id", "container.channel_id")),
    *((path, 100) for path in ("event.user", "event.channel", "event.team", "event_id", "api_app_id")),
    *((path, 200) for path in ("user.name", "user.username", "user_name", "channel_name", "trigger_id")),
    ("command", 100),
]


def _lengths(data: dict[str, Any], where: str) -> None:
    problem = json_input.first_too_long(data, _LIMITS)
    if problem:
        raise PayloadError(f"{where}: {problem}")


def _check_envelope(data: dict[str, Any], where: str) -> None:
    _types(data, _ENVELOPE, where)
    _lengths(data, where)
    if "response_urls" in data and not isinstance(data["response_urls"], list):  # bolt takes len() of it
        raise PayloadError(f"{where}: response_urls must be a list")
    for item in data.get("response_urls") or []:  # bolt reads the first one's response_url
        if not isinstance(item, dict) or json_input.field_problem(item, "response_url", str):
            raise PayloadError(f"{where}: every item of response_urls must be an object with a URL")
    for authorization in data.get("authorizations") or []:  # bolt reads the first one's ids
        if not isinstance(authorization, dict):
            raise PayloadError(f"{where}: every item of authorizations must be an object")
        _types(authorization, _AUTHORIZATION, f"{where} authorizations[]")
        too_long = json_input.first_too_long(authorization, [(k, 100) for k, _ in _AUTHORIZATION[:3]])
        if too_long:
            raise PayloadError(f"{where} authorizations[]: {too_long}")


_AUTHORIZATION: list[tuple[str, type | tuple[type, ...]]] = [
    ("enterprise_id", str),
    ("team_id", str),
    ("user_id", str),
    ("is_enterprise_install", bool),
]


def check_json(data: Any) -> Inbound:
    """An Events API body (or Slack's URL check), as JSON."""
    if not isinstance(data, dict):
        raise PayloadError("JSON body is not an object")
    _check_envelope(data, "body")
    kind = data.get("type")
    if kind == "url_verification":
        _need(data, "challenge", str, "url_verification")
        return Inbound("url_verification", data)
    if kind == "event_callback":
        event = _need(data, "event", dict, "event_callback")
        kind = _need(event, "type", str, "event")
        _need(data, "event_id", str, "event_callback")
        if kind in _HANDLED_EVENTS:
            _types(event, [*_EVENT, ("tokens", dict)], "event")
        return Inbound("event", data)
    if kind == "app_rate_limited":
        return Inbound("event", data)
    raise PayloadError(f"unknown JSON request type {kind!r}")


def check_interactive(payload: Any) -> Inbound:
    """An interactivity payload (buttons, modals)."""
    if not isinstance(payload, dict):
        raise PayloadError("payload is not an object")
    kind = _need(payload, "type", str, "payload")
    _check_envelope(payload, kind)
    _types(payload, _INTERACTIVE, kind)
    if kind in ("block_actions", "view_submission", "view_closed", "block_suggestion"):
        user = _need(payload, "user", dict, kind)
        _need(user, "id", str, f"{kind} user")
    if kind == "block_actions":
        actions = _need(payload, "actions", list, kind)
        if not actions or not all(isinstance(a, dict) and a.get("action_id") for a in actions):
            raise PayloadError("block_actions: malformed 'actions'")
        for action in actions:
            _types(action, _ACTION, "block_actions actions[]")
    if kind in ("view_submission", "view_closed"):
        view = _need(payload, "view", dict, kind)
        _need(view, "callback_id", str, f"{kind} view")
        _need(view, "type", str, f"{kind} view")  # bolt reads it to route the submit
        if kind == "view_submission":
            state = _need(view, "state", dict, f"{kind} view")
            _need(state, "values", dict, f"{kind} view state")
    return Inbound("interactive", payload)


def check_command(form: Any) -> Inbound:
    """A slash command's fields."""
    if not isinstance(form, dict):
        raise PayloadError("slash command is not an object")
    for key in ("command", "user_id", "channel_id", "team_id"):
        if not form.get(key) or not isinstance(form[key], str):
            raise PayloadError(f"slash command: missing {key!r}")
    problem = json_input.problem(form, what="slash command")  # a NUL (%00) in a field, say
    if problem:
        raise PayloadError(problem)
    _lengths(form, "slash command")
    return Inbound("command", form)


def _sound(check: Callable[[Any], Inbound]) -> Callable[[Any], Inbound]:
    """A Socket Mode payload arrives parsed (by slack_sdk): the depth and surrogate checks that `load`
    makes of an HTTP body, then the body's own check."""

    def run(payload: Any) -> Inbound:
        problem = json_input.problem(payload, what="payload")
        if problem:
            raise PayloadError(problem)
        return check(payload)

    return run


# Socket Mode envelope types and what each carries (the same bodies as over HTTP)
SOCKET_CHECKS = {
    "events_api": _sound(check_json),
    "interactive": _sound(check_interactive),
    "slash_commands": _sound(check_command),
}


def _is_direct(channel_id: str | None, channel_type: str | None = None) -> bool:
    return channel_type == "im" or bool(channel_id and channel_id.startswith("D"))


def strip_mention(text: str) -> str:
    """`<@U123> roles` → `roles` (the leading mention(s) of the bot)."""
    return _MENTION.sub("", text, count=1).strip()


def read_mentions(text: str, bot_user_id: str | None = None) -> tuple[str, tuple[Actor, ...]]:
    """Slack's escaped text as neutral command text: each person mentioned (`<@U123>` or
    `<@U123|maria>`) becomes `@<n>` and is listed, in order (the same person twice is one entry);
    mentions of the bot itself are dropped; `<#C123|name>` becomes `#name`, `<https://…|label>` the URL,
    and `&amp; &lt; &gt;` their characters."""
    people: list[Actor] = []

    def replace(match: re.Match[str]) -> str:
        sigil, ref, label = match.group(1), match.group(2), match.group(3)
        if sigil == "@":
            if bot_user_id and ref == bot_user_id:
                return ""
            for index, actor in enumerate(people):
                if actor.user_id == ref:
                    return f"@{index}"
            people.append(Actor("slack", ref, label or None))
            return f"@{len(people) - 1}"
        if sigil == "#":
            return f"#{label or ref}"
        if sigil == "!":  # <!here>, <!channel>, <!subteam^S123|@group>
            return f"@{label.lstrip('@') if label else ref}"
        return ref

    replaced = _REFERENCE.sub(replace, text)
    replaced = replaced.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]{2,}", " ", replaced).strip(), tuple(people)


def workspace_of(body: dict[str, Any]) -> tuple[str, str]:
    team = body.get("team")
    team_id = (team.get("id") if isinstance(team, dict) else None) or body.get("team_id") or ""
    enterprise = body.get("enterprise")
    enterprise_id = (
        (enterprise.get("id") if isinstance(enterprise, dict) else None) or body.get("enterprise_id") or ""
    )
    return str(team_id), str(enterprise_id or "")


def sender_of(body: dict[str, Any]) -> str:
    """Who sent a request (workspace and user id), "" when it names nobody (an uninstall)."""
    user = body.get("user")
    event = body.get("event")
    user_id = (
        (user.get("id") if isinstance(user, dict) else None)
        or body.get("user_id")
        or (event.get("user") if isinstance(event, dict) else None)
    )
    if not isinstance(user_id, str) or not user_id:
        return ""
    return f"{workspace_of(body)[0]}:{user_id}"


def _action_value(action: dict[str, Any]) -> str | None:
    for key in ("selected_option",):
        option = action.get(key)
        if isinstance(option, dict):
            return str(option.get("value", ""))
    if "selected_options" in action and isinstance(action["selected_options"], list):
        return ",".join(str(o.get("value", "")) for o in action["selected_options"] if isinstance(o, dict))
    for key in ("value", "selected_date", "selected_time", "selected_user", "selected_channel"):
        if action.get(key) is not None:
            return str(action[key])
    return None


def _state_values(state: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for block_id, actions in state.items():
        if not isinstance(actions, dict):
            continue
        for action in actions.values():
            if isinstance(action, dict):
                value = _action_value(action)
                if value is not None:
                    values[str(block_id)] = value
    return values


def form_problems(payload: dict[str, Any]) -> dict[str, str]:
    """A modal submit whose inputs break the form's rules (flows/core/form_rules.py, read from the modal's own
    blocks as Slack echoes them): block id → the message Slack shows beside that input. {} when it may go
    on, or when this is not a modal submit. Pure, fast: it runs before the ack."""
    view = payload.get("view")
    if payload.get("type") != "view_submission" or not isinstance(view, dict):
        return {}
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    if not isinstance(values, dict):
        return {}
    language = render.read_metadata(view.get("private_metadata")).get("l")
    rules = render.form_rules(view.get("blocks"))
    return form_rules.check(rules, _state_values(values), form_rules.known_language(language))


def channel_name(name: Any) -> str | None:
    """A slash command's `channel_name` as people see it ("#solutions"). Slack puts placeholders there for
    private channels and DMs ("privategroup", "directmessage", "mpdm-…"): those say nothing."""
    if not isinstance(name, str) or not name or name in ("privategroup", "directmessage"):
        return None
    return None if name.startswith("mpdm-") else f"#{name}"


def command_event(form: dict[str, Any], bot_user_id: str | None = None) -> Translated:
    team_id, enterprise_id = workspace_of(form)
    user = str(form["user_id"])
    channel = str(form["channel_id"])
    # Replies to a slash command are ephemeral in the channel it was typed in (or via its response_url),
    # which also covers DMs between two people, where the bot cannot post.
    conversation = Conversation(
        "slack",
        channel,
        is_direct=False,
        workspace=team_id,
        reply_url=form.get("response_url") or None,
        name=channel_name(form.get("channel_name")),
    )
    key = f"slack:command:{form.get('trigger_id') or ''}:{user}" if form.get("trigger_id") else None
    text, mentions = read_mentions(str(form.get("text", "")), bot_user_id)
    event = CommandEvent(Actor("slack", user, form.get("user_name")), conversation, text, key, mentions)
    return Translated(
        event=event,
        trigger_id=form.get("trigger_id"),
        response_url=form.get("response_url"),
        workspace=team_id,
        enterprise_id=enterprise_id,
    )


def interactive_event(payload: dict[str, Any]) -> Translated:
    team_id, enterprise_id = workspace_of(payload)
    user = payload["user"]
    actor = Actor("slack", str(user["id"]), user.get("name") or user.get("username"))
    kind = payload["type"]
    trigger_id = payload.get("trigger_id")
    response_url = payload.get("response_url")
    if kind == "block_actions":
        action = payload["actions"][0]
        container = payload.get("container") if isinstance(payload.get("container"), dict) else {}
        assert isinstance(container, dict)
        view = payload.get("view") if isinstance(payload.get("view"), dict) else None
        channel = payload.get("channel") if isinstance(payload.get("channel"), dict) else {}
        assert isinstance(channel, dict)
        channel_id = str(channel.get("id") or container.get("channel_id") or "")
        routing = render.read_metadata(view.get("private_metadata")) if view else {}
        if not channel_id:
            channel_id = str(routing.get("c") or "")
        if channel_id:
            # Answers are private to the person, in place (ephemeral, or via the response_url): this
            # also works in DMs between two people, where the bot cannot post.
            conversation = Conversation(
                "slack",
                channel_id,
                thread=container.get("thread_ts"),
                workspace=team_id,
                reply_url=response_url or None,
            )
        else:  # a button in App Home or a modal opened from there: answer in the bot's DM
            conversation = Conversation("slack", actor.user_id, is_direct=True, workspace=team_id)
        action_id = render.neutral_action_id(str(action["action_id"]))
        value = _action_value(action)
        where = container.get("message_ts") or container.get("view_id") or (view or {}).get("id") or ""
        # A double click (same person, same message, same button and value) is recorded once. A button
        # that opens a form changes nothing by itself: each press (its own trigger id) opens the form
        # again, so someone who closed the modal can press again.
        if render.opens_form(str(action["action_id"])) and trigger_id:
            key = f"slack:open:{team_id}:{actor.user_id}:{trigger_id}"
        else:
            key = f"slack:click:{team_id}:{actor.user_id}:{where}:{action_id}:{value or ''}"
        block_id = str(action.get("block_id") or "")
        values = {render.neutral_action_id(block_id): value} if block_id and value is not None else {}
        event: Event = ActionEvent(actor, conversation, action_id, value, values, key[:300])
        return Translated(event, None, trigger_id, response_url, team_id, enterprise_id)
    if kind == "view_submission":
        view = payload["view"]
        routing = render.read_metadata(view.get("private_metadata"))
        values = _state_values(view["state"]["values"])
        metadata = str(routing.get("m") or "")
        origin = str(routing.get("c") or "")
        if origin:
            conversation = Conversation("slack", origin, thread=routing.get("t"), workspace=team_id)
        else:
            conversation = Conversation("slack", actor.user_id, is_direct=True, workspace=team_id)
        # One submit of a view is processed once. A submit the form's rules refuse is answered at the ack
        # (`form_problems`) and never reaches the engine, so it does not use up this key: the corrected
        # submit of the same view is processed. (No hash of the values in the key: processed_events names
        # the person, and a poll's few possible answers would be easy to recover from one.)
        key = f"slack:view:{view.get('id') or view.get('hash') or trigger_id}:{actor.user_id}"
        event = ActionEvent(actor, conversation, str(view["callback_id"]), None, values, key[:300], metadata)
        return Translated(event, None, trigger_id, response_url, team_id, enterprise_id)
    return Translated(workspace=team_id, enterprise_id=enterprise_id)


def callback_event(body: dict[str, Any], bot_user_id: str | None) -> Translated:
    """An Events API `event_callback` body."""
    event = body.get("event") or {}
    team_id, enterprise_id = workspace_of(body)
    team_id = team_id or str(event.get("team") or "")
    key = f"slack:event:{body.get('event_id')}"
    kind = event.get("type")
    user = str(event.get("user") or "")
    channel = str(event.get("channel") or "")
    base = Translated(workspace=team_id, enterprise_id=enterprise_id)
    if kind in ("tokens_revoked", "app_uninstalled"):
        if kind == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
            return base  # only user tokens were revoked: the bot is still installed
        return Translated(lifecycle=Lifecycle("uninstalled", team_id, enterprise_id), workspace=team_id)
    if kind == "app_home_opened":
        if event.get("tab", "home") != "home" or not user:
            return base
        return Translated(lifecycle=Lifecycle("home_opened", team_id, enterprise_id, user), workspace=team_id)
    if kind in ("member_joined_channel",) and user and channel:
        conversation = Conversation("slack", channel, workspace=team_id)
        actor = Actor("slack", user)
        joined: Event = (
            InstalledEvent(actor, conversation, key)
            if bot_user_id and user == bot_user_id
            else MemberJoinedEvent(actor, conversation, key)
        )
        return Translated(event=joined, workspace=team_id, enterprise_id=enterprise_id)
    if event.get("bot_id") or event.get("subtype") or (bot_user_id and user == bot_user_id) or not user:
        return base  # our own messages, edits, joins…: not a person speaking
    text = str(event.get("text") or "")
    thread = event.get("thread_ts")
    if kind == "app_mention" and channel:
        conversation = Conversation(
            "slack", channel, is_direct=_is_direct(channel), thread=thread, workspace=team_id
        )
        command_text, mentions = read_mentions(strip_mention(text), bot_user_id)
        command = CommandEvent(Actor("slack", user), conversation, command_text, key, mentions)
        return Translated(event=command, workspace=team_id, enterprise_id=enterprise_id)
    if kind == "message" and channel and _is_direct(channel, event.get("channel_type")):
        conversation = Conversation("slack", channel, is_direct=True, thread=thread, workspace=team_id)
        message = MessageEvent(Actor("slack", user), conversation, text, key)
        return Translated(event=message, workspace=team_id, enterprise_id=enterprise_id)
    return base


def to_event(inbound: Inbound, bot_user_id: str | None) -> Translated:
    if inbound.kind == "command":
        return command_event(inbound.body, bot_user_id)
    if inbound.kind == "interactive":
        return interactive_event(inbound.body)
    if inbound.kind == "event":
        return callback_event(inbound.body, bot_user_id)
    return Translated()
