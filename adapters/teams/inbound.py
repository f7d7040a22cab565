"""Read a Bot Framework Activity from Teams: where it happened, who did it, what they typed or submitted."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from typing import Any

from botbuilder.schema import Activity

from adapters.teams.cards import LANGUAGE_KEY, RULES_KEY, read_action
from flows.core import form_rules
from flows.core.types import ActionEvent, Actor, Card, CommandEvent, Conversation

_AT = re.compile(r"<at[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Where:
    """A Teams conversation in our terms. `address` is what a team file names (a channel id, a chat id);
    `conversation_id` is Teams' full id (a channel thread is `<channel id>;messageid=<root>`)."""

    kind: str  # personal | channel | groupChat
    conversation_id: str
    address: str
    thread: str | None
    tenant_id: str
    team_id: str | None

    def conversation(self) -> Conversation:
        return Conversation(
            platform="teams",
            conversation_id=self.address,
            is_direct=self.kind == "personal",
            thread=self.thread,
            workspace=self.tenant_id or None,
        )


def _channel_data(activity: Activity) -> dict[str, Any]:
    data = activity.channel_data
    return data if isinstance(data, dict) else {}


def where(activity: Activity) -> Where:
    conversation = activity.conversation
    if conversation is None or not conversation.id:
        raise ValueError("the activity has no conversation id")
    data = _channel_data(activity)
    tenant = str((data.get("tenant") or {}).get("id") or conversation.tenant_id or "")
    team = data.get("team") or {}
    team_id = str(team.get("id")) if team.get("id") else None
    channel_id = (data.get("channel") or {}).get("id")
    kind = conversation.conversation_type or (
        "channel" if channel_id else ("groupChat" if conversation.is_group else "personal")
    )
    full = str(conversation.id)
    base, _, message_id = full.partition(";messageid=")
    if kind == "channel":
        return Where(kind, full, str(channel_id or base), message_id or None, tenant, team_id)
    return Where(kind, full, base, None, tenant, team_id)


def user_ids(activity: Activity) -> list[str]:
    """The sender's ids, Azure AD object id first (what a team file is most likely to name)."""
    sender = activity.from_property
    if sender is None:
        return []
    return [i for i in (sender.aad_object_id, sender.id) if i]


def actor(activity: Activity, user_id: str) -> Actor:
    sender = activity.from_property
    return Actor("teams", user_id, sender.name if sender is not None else None)


def client_timezone(activity: Activity) -> str | None:
    """The sender's IANA zone as their client reports it: the `clientInfo` entity's `timezone`, else the
    activity's `localTimezone` (unchecked here; storage keeps only zones it knows)."""
    for entity in activity.entities or []:
        if entity.type == "clientInfo":
            zone = (entity.additional_properties or {}).get("timezone")
            if isinstance(zone, str) and zone:
                return zone
    zone = activity.local_timezone
    return zone if isinstance(zone, str) and zone else None


@dataclass(frozen=True)
class Mentioned:
    """A person @mentioned in a message: their ids (Teams "29:…" id, Azure AD object id when the
    entity carries it) and the name shown."""

    ids: tuple[str, ...]
    name: str | None


def mentions(activity: Activity) -> tuple[str, list[Mentioned]]:
    """The message text with each person's `<at>…</at>` replaced by `@<n>` (n = their index in the list
    returned; a person mentioned twice keeps one index) and the bot's own mention removed."""
    text = activity.text or ""
    bot = activity.recipient
    people: list[Mentioned] = []
    index: dict[str, int] = {}
    for entity in activity.entities or []:
        if entity.type != "mention":
            continue
        props = entity.additional_properties or {}
        mentioned = props.get("mentioned") or {}
        tag = str(props.get("text") or "")
        user = str(mentioned.get("id") or "")
        if not tag or tag not in text:
            continue
        if not user or (bot is not None and user == bot.id) or user.startswith("28:"):
            text = text.replace(tag, " ", 1)  # the bot (or another bot): not a person
            continue
        if user not in index:
            aad = mentioned.get("aadObjectId") or mentioned.get("aad_object_id")
            ids = tuple(i for i in (str(aad) if aad else "", user) if i)
            index[user] = len(people)
            people.append(Mentioned(ids, mentioned.get("name")))
        text = text.replace(tag, f" @{index[user]} ", 1)
    return text, people


def command_text(activity: Activity, text: str | None = None) -> str:
    """The message text with the bot's @mention (and any other <at> tag) removed, entities decoded, and a
    leading `/tandem` or `tandem` dropped so Slack habits work too. `text`: the text with mentions already
    replaced (see `mentions`)."""
    if text is None:
        text, _ = mentions(activity)
    text = html.unescape(_AT.sub(" ", text)).replace("\xa0", " ")
    text = _SPACE.sub(" ", text).strip()
    lowered = text.lower()
    for prefix in ("/tandem ", "tandem "):
        if lowered.startswith(prefix):
            return text[len(prefix) :].strip()
    return "" if lowered in ("/tandem", "tandem") else text


def idempotency_key(activity: Activity) -> str:
    """A redelivered activity (same conversation and id) is processed once."""
    raw = f"{activity.conversation.id if activity.conversation else ''}|{activity.id or ''}"
    return "teams:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def click_key(activity: Activity, action_id: str, values: dict[str, str]) -> str:
    """A double click (same person, same card, same action and inputs) is recorded once, as on Slack."""
    sender = activity.from_property.id if activity.from_property else ""
    card = activity.reply_to_id or activity.id or ""
    conversation = activity.conversation.id if activity.conversation else ""
    inputs = "&".join(f"{k}={v}" for k, v in sorted(values.items()))
    raw = f"{conversation}|{card}|{sender}|{action_id}|{inputs}"
    return "teams:click:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def command_event(
    activity: Activity, user_id: str, mentioned: tuple[Actor, ...] = (), text: str | None = None
) -> CommandEvent:
    return CommandEvent(
        actor(activity, user_id),
        where(activity).conversation(),
        command_text(activity, text),
        idempotency_key=idempotency_key(activity),
        mentions=mentioned,
    )


def action_event(activity: Activity, user_id: str, data: Any, verb: str | None = None) -> ActionEvent:
    action_id, value, values, metadata = read_action(data, verb)
    return ActionEvent(
        actor(activity, user_id),
        where(activity).conversation(),
        action_id,
        value,
        values,
        idempotency_key=click_key(activity, action_id, {**values, "": value or ""}),
        metadata=metadata,
    )


def refused(data: Any) -> Card | None:
    """A submitted form (`data`: its submit action's data with the inputs merged in) whose inputs break the
    form's rules, carried in that data: the reply naming each input and what is wrong with it (Teams cannot
    show it beside the field after a submit). None when it may go on, or carries no rules."""
    if not isinstance(data, dict):
        return None
    rules = form_rules.rules_from_data(data.get(RULES_KEY))
    _, _, values, _ = read_action(data)
    language = form_rules.known_language(data.get(LANGUAGE_KEY))
    problems = form_rules.check(rules, values, language)
    return form_rules.refusal(rules, problems, language) if problems else None
