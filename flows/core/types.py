"""Platform-neutral types: inbound Events, outbound Cards and Forms, and Recipients.

Adapters translate platform payloads into Events and render Cards into Block Kit or Adaptive Cards.
Flows only ever see and produce the types in this module. Every Card element and Recipient
round-trips through JSON (`card_to_json` / `card_from_json`) because deliveries wait in the outbox.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Platform = Literal["slack", "teams", "local"]
PLATFORMS: tuple[Platform, ...] = ("slack", "teams", "local")
# Platforms with a per-person home view (Slack's App Home); `Recipient.home` reaches only these.
HOME_PLATFORMS: tuple[Platform, ...] = ("slack",)


# ---------------------------------------------------------------- inbound events


@dataclass(frozen=True)
class Actor:
    """Who did something, as the platform names them."""

    platform: Platform
    user_id: str
    display_name: str | None = None


@dataclass(frozen=True)
class Conversation:
    """Where it happened: a channel, a DM, or a thread inside one."""

    platform: Platform
    conversation_id: str
    is_direct: bool = False
    thread: str | None = None
    workspace: str | None = None
    reply_url: str | None = (
        None  # where the platform takes a private reply to this interaction, if it has one
    )
    name: str | None = None  # the channel's name as people see it ("#solutions"), if the platform says


@dataclass(frozen=True)
class CommandEvent:
    """`/tandem <text>` in Slack, or the same text sent to the bot in Teams or locally.

    People mentioned in the text are listed in `mentions`, in order, and each mention in `text` is
    replaced by `@<n>` (n = its index in `mentions`), so flows read mentions the same way on every
    platform. A mention of the bot itself is removed by the adapter."""

    actor: Actor
    conversation: Conversation
    text: str
    idempotency_key: str | None = None
    mentions: tuple[Actor, ...] = ()


@dataclass(frozen=True)
class ActionEvent:
    """A button press or a submitted form: `action_id` is an id a flow declares (`flow.verb`, exact; see
    flows/core/actions.py); what it acts on is the button's `value` or the form's `metadata`."""

    actor: Actor
    conversation: Conversation
    action_id: str
    value: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None
    metadata: str = ""  # a submitted Form's `metadata`, back as the flow set it


@dataclass(frozen=True)
class MessageEvent:
    actor: Actor
    conversation: Conversation
    text: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class MemberJoinedEvent:
    actor: Actor
    conversation: Conversation
    idempotency_key: str | None = None


@dataclass(frozen=True)
class InstalledEvent:
    """The app was installed in a team, a channel or a personal scope."""

    actor: Actor
    conversation: Conversation
    idempotency_key: str | None = None


Event = CommandEvent | ActionEvent | MessageEvent | MemberJoinedEvent | InstalledEvent


# ---------------------------------------------------------------- outbound cards


@dataclass(frozen=True)
class Header:
    text: str
    type: Literal["header"] = "header"


@dataclass(frozen=True)
class Text:
    """A paragraph. `**bold**` and `_italic_` are the only markup; adapters translate them."""

    text: str
    type: Literal["text"] = "text"


@dataclass(frozen=True)
class Fields:
    pairs: tuple[tuple[str, str], ...]
    type: Literal["fields"] = "fields"


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Question:
    """A question with choices. `style` picks buttons, radio, select or a 1..N scale. In a Form, a submit
    must answer it (unless `optional`) with one of its choices (flows/core/form_rules.py)."""

    id: str
    prompt: str
    choices: tuple[Choice, ...]
    style: Literal["buttons", "radio", "select", "scale"] = "buttons"
    action_id: str | None = None
    optional: bool = False
    initial: str | None = None  # the choice value selected when the question is shown (in a Form)
    type: Literal["question"] = "question"


@dataclass(frozen=True)
class TextInput:
    id: str
    label: str
    multiline: bool = False
    optional: bool = False
    placeholder: str | None = None
    initial: str | None = None  # the text already in the box when the form is shown
    # With `optional`, the rules a Form's submit is checked against before the flow sees it
    # (flows/core/form_rules.py); the adapters render them natively where the platform can.
    min_length: int | None = None
    max_length: int | None = None
    type: Literal["text_input"] = "text_input"


@dataclass(frozen=True)
class Button:
    label: str
    action_id: str
    value: str = ""
    style: Literal["default", "primary", "danger"] = "default"
    # Pressing it usually opens a Form: Slack then shows a modal at once and fills it in when the flow has
    # run (its trigger id lasts 3 seconds). The flow may still decline and reply instead.
    opens_form: bool = False


@dataclass(frozen=True)
class Buttons:
    buttons: tuple[Button, ...]
    type: Literal["buttons"] = "buttons"


@dataclass(frozen=True)
class Image:
    url: str
    alt: str
    type: Literal["image"] = "image"


@dataclass(frozen=True)
class Context:
    """A small grey line: attribution, why you got this, what happens next."""

    text: str
    type: Literal["context"] = "context"


@dataclass(frozen=True)
class Divider:
    type: Literal["divider"] = "divider"


Element = Header | Text | Fields | Question | TextInput | Buttons | Image | Context | Divider


@dataclass(frozen=True)
class Card:
    """A message. `summary` is the one-line notification / fallback text."""

    summary: str
    elements: tuple[Element, ...]

    @staticmethod
    def plain(text: str) -> Card:
        """A one-paragraph card: replies, confirmations, errors."""
        return Card(summary=one_line(text), elements=(Text(text),))


SUMMARY_LENGTH = 80


def one_line(text: str, limit: int = SUMMARY_LENGTH) -> str:
    """`text` as a notification line: whole if it fits, else cut at a word with a visible "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    return (head.rsplit(" ", 1)[0] if " " in head else head).rstrip(",;:—-–") + "…"


@dataclass(frozen=True)
class Form:
    """Several inputs submitted together: a modal in Slack, an input card in Teams."""

    form_id: str
    title: str
    elements: tuple[Element, ...]
    submit_label: str = "Submit"
    metadata: str = ""
    # The language of the person it is shown to: the adapters say what is wrong with a submit in it
    # (flows/core/form_rules.py). "" until FlowContext.open_form fills it in.
    language: str = ""


# The engine's entry point as the adapters see it: an Event in, the Form a flow wants shown (or None) out.
Handle = Callable[[Event], Awaitable[Form | None]]


# ---------------------------------------------------------------- recipients


@dataclass(frozen=True)
class Recipient:
    """Where a delivery goes, in our terms; the outbox resolves it to platform addresses.

    - ``person``: a private message to a person (on every platform they are reachable on, first one wins).
    - ``team_channels``: every channel the team posts to, on every platform.
    - ``conversation``: a platform conversation we were spoken to in (replies); ``private_to`` makes the
      reply visible only to that platform user (Slack ephemeral).
    - ``home``: the person's home view (Slack App Home), republished when what it shows changes;
      platforms without one ignore it.
    """

    kind: Literal["person", "team_channels", "conversation", "home"]
    person_id: int | None = None
    team_id: int | None = None
    platform: Platform | None = None
    address: str | None = None
    thread: str | None = None
    private_to: str | None = None
    direct: bool = False
    workspace: str | None = None
    reply_url: str | None = None

    @staticmethod
    def person(person_id: int) -> Recipient:
        return Recipient(kind="person", person_id=person_id)

    @staticmethod
    def home(person_id: int) -> Recipient:
        return Recipient(kind="home", person_id=person_id)

    @staticmethod
    def team_channels(team_id: int) -> Recipient:
        return Recipient(kind="team_channels", team_id=team_id)

    @staticmethod
    def reply_to(conversation: Conversation, private_to: str | None = None) -> Recipient:
        return Recipient(
            kind="conversation",
            platform=conversation.platform,
            address=conversation.conversation_id,
            thread=conversation.thread,
            private_to=None if conversation.is_direct else private_to,
            direct=conversation.is_direct,
            workspace=conversation.workspace,
            reply_url=conversation.reply_url,
        )


@dataclass(frozen=True)
class Delivery:
    """One message a flow wants sent; written to the outbox in the flow's transaction."""

    recipient: Recipient
    card: Card
    team_id: int | None = None
    sensitive: bool = False  # scrub the payload once sent
    key: str | None = None  # names this message so a later delivery can replace it in place
    replaces: str | None = None  # the key of an earlier message to update (sent anew if there is none)


# ---------------------------------------------------------------- JSON round trip

_ELEMENTS: dict[str, type[Any]] = {
    "header": Header,
    "text": Text,
    "fields": Fields,
    "question": Question,
    "text_input": TextInput,
    "buttons": Buttons,
    "image": Image,
    "context": Context,
    "divider": Divider,
}


def card_to_json(card: Card) -> dict[str, Any]:
    return asdict(card)


def _element_from_json(data: dict[str, Any]) -> Element:
    kind = data.get("type")
    cls = _ELEMENTS.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown card element type {kind!r}")
    args = {k: v for k, v in data.items() if k != "type"}
    if cls is Fields:
        args["pairs"] = tuple((str(a), str(b)) for a, b in args["pairs"])
    elif cls is Question:
        args["choices"] = tuple(Choice(**c) for c in args["choices"])
    elif cls is Buttons:
        args["buttons"] = tuple(Button(**b) for b in args["buttons"])
    element: Element = cls(**args)
    return element


def card_from_json(data: dict[str, Any]) -> Card:
    return Card(
        summary=str(data["summary"]),
        elements=tuple(_element_from_json(e) for e in data["elements"]),
    )


def recipient_to_json(recipient: Recipient) -> dict[str, Any]:
    return {k: v for k, v in asdict(recipient).items() if v is not None}


def recipient_from_json(data: dict[str, Any]) -> Recipient:
    return Recipient(**data)
