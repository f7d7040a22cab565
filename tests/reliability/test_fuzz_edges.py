"""Property-based fuzzing (Hypothesis) of the HTTP edges, from the real payload shapes: Slack's
`/slack/events` (correctly signed), Teams' `/api/messages` (the local-development mode, no token) and the
local chat page's endpoints. Each example takes a real payload (tests/slack/fixtures, tests/teams/fixtures,
the page's own fields), changes one field (a value of another JSON type, a lone surrogate, deep nesting,
a huge number, a missing key) and posts it: never a 5xx, never a traceback in the log, and a refused
request (4xx) writes no row. The number of examples is bounded (printed with the figures); Hypothesis runs
derandomized unless TANDEM_RELIABILITY_FULL is set, so CI sees the same examples every time."""

from __future__ import annotations

import asyncio
import copy
import json
import os
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.local_chat_helpers import chat_page
from tests.reliability.conftest import Figure, tracebacks
from tests.reliability.test_crashing_inputs import _rows
from tests.slack.conftest import FIXTURES as SLACK_FIXTURES
from tests.slack.conftest import SlackTandem, sign, slack_team_spec
from tests.teams.conftest import FIXTURES as TEAMS_FIXTURES
from tests.teams.conftest import TeamsRig, teams_team_spec

FULL = bool(os.environ.get("TANDEM_RELIABILITY_FULL"))
# both databases at full size; SQLite in CI (tests/conftest.py)
pytestmark = [pytest.mark.slow, *([pytest.mark.both_databases] if FULL else [])]
EXAMPLES = 1000 if FULL else 60  # per endpoint
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not FULL,
    suppress_health_check=list(HealthCheck),
)

# ------------------------------------------------------------------ mutations of a JSON document

NASTY = st.sampled_from(
    [
        "\ud800",
        "x\udfffy",
        "[" * 5000 + "]" * 5000,
        "9" * 5000,
        "",
        " ",
        "\x00",
        "<@U0|x>",
        "%ED%A0%80",
        "\u202e",
        "https://evil.invalid/",
    ]
)
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | NASTY
)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6) | NASTY, inner, max_size=3)
    ),
    max_leaves=6,
) | st.builds(lambda depth: json.loads("[" * depth + "]" * depth), st.integers(60, 900))


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document[:5]):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, documents: dict[str, Any]) -> tuple[str, Any]:
    """(name, document) with one field changed, removed, or one key added."""
    name = draw(st.sampled_from(sorted(documents)))
    document = copy.deepcopy(documents[name])
    path = draw(st.sampled_from(_paths(document)))
    how = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
    if not path:
        return name, draw(JSON_VALUES) if how == "replace" else document
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if how == "replace":
        parent[last] = draw(JSON_VALUES)
    elif how == "delete":
        del parent[last]
    elif isinstance(parent, dict):
        parent[draw(st.text(max_size=8) | NASTY)] = draw(JSON_VALUES)
    else:
        parent.append(draw(JSON_VALUES))
    return name, document


def _load(folder: Any, names: list[str]) -> dict[str, Any]:
    return {n: json.loads((folder / n).read_text()) for n in names}


SLACK_DOCUMENTS = _load(
    SLACK_FIXTURES,
    [
        "block_actions_button.json",
        "view_submission.json",
        "event_app_mention.json",
        "event_message_im.json",
        "slash_command.json",
        "url_verification.json",
    ],
)
TEAMS_DOCUMENTS = {n.name: json.loads(n.read_text()) for n in sorted(TEAMS_FIXTURES.glob("*.json"))}


def _dump(document: Any) -> str:
    return json.dumps(document)  # ensure_ascii: a lone surrogate travels as its \ud800 escape


class _Bridge:
    """Hypothesis runs its examples in a worker thread; each one's HTTP request runs on the test's loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def __call__(self, work: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=60)


async def _fuzz(run: Callable[[], None]) -> None:
    await asyncio.get_running_loop().run_in_executor(None, run)


# ------------------------------------------------------------------ Slack


async def test_fuzzed_slack_requests_never_5xx_nor_write_when_refused(
    tandem: SlackTandem, caplog: pytest.LogCaptureFixture, figure: Figure
) -> None:
    await tandem.import_team(slack_team_spec())
    on_loop = _Bridge(asyncio.get_running_loop())
    statuses: Counter[int] = Counter()

    async def post(name: str, document: Any) -> None:
        if name == "slash_command.json":
            fields = document if isinstance(document, dict) else {"text": document}
            body = urlencode(
                {str(k): _dump(v) if not isinstance(v, str) else v for k, v in fields.items()},
                errors="surrogatepass",
            ).encode()
            content_type = "application/x-www-form-urlencoded"
        elif name.startswith(("block_actions", "view_")):
            body = urlencode({"payload": _dump(document)}).encode()
            content_type = "application/x-www-form-urlencoded"
        else:
            body, content_type = _dump(document).encode(), "application/json"
        before = await _rows(tandem.runtime.sessions)
        headers = {"Content-Type": content_type, **sign(body)}
        async with tandem.http.post(tandem.url, data=body, headers=headers) as response:
            await response.read()
            statuses[response.status] += 1
            assert response.status < 500, (name, document)
        await tandem.settle()
        if response.status >= 400:
            assert await _rows(tandem.runtime.sessions) == before, (name, document)

    @FUZZ
    @given(mutated(SLACK_DOCUMENTS))
    def one(example: tuple[str, Any]) -> None:
        on_loop(post(*example))

    await _fuzz(one)
    assert tracebacks(caplog) == []
    figure("Slack examples", sum(statuses.values()))
    figure("Slack answers", dict(sorted(statuses.items())))


# ------------------------------------------------------------------ Teams


async def test_fuzzed_teams_activities_never_5xx_nor_write_when_refused(
    rig: TeamsRig, caplog: pytest.LogCaptureFixture, figure: Figure
) -> None:
    await rig.import_team(teams_team_spec())
    on_loop = _Bridge(asyncio.get_running_loop())
    statuses: Counter[int] = Counter()

    async def post(name: str, document: Any) -> None:
        if isinstance(document, dict) and isinstance(document.get("serviceUrl"), str):
            document["serviceUrl"] = rig.connector.url  # never anywhere but the fake connector
        before = await _rows(rig.runtime.sessions)
        status, _ = await rig.post(_dump(document))
        statuses[status] += 1
        assert status < 500, (name, document)
        if status >= 400:
            assert await _rows(rig.runtime.sessions) == before, (name, document)

    @FUZZ
    @given(mutated(TEAMS_DOCUMENTS))
    def one(example: tuple[str, Any]) -> None:
        on_loop(post(*example))

    await _fuzz(one)
    assert tracebacks(caplog) == []
    figure("Teams examples", sum(statuses.values()))
    figure("Teams answers", dict(sorted(statuses.items())))


# ------------------------------------------------------------------ the local chat page

PAGE_TEXT = (
    st.text(max_size=30) | NASTY | st.sampled_from(["help", "pulse start", "pulse close", "dm-ana", "1"])
)


async def test_fuzzed_chat_page_requests_never_5xx_nor_write_when_refused(
    database_url: str, caplog: pytest.LogCaptureFixture, figure: Figure
) -> None:
    statuses: Counter[int] = Counter()
    async with chat_page(database_url) as page:
        on_loop = _Bridge(asyncio.get_running_loop())
        fields = {
            "team": page.team,
            "person": "ana",
            "c": "dm-ana",
            "text": "help",
            "action": "pulse.answer",
            "value": "1",
            "key": "k1",
            "message": "1",
            "token": "t",
        }

        async def send(path: str, data: dict[str, str], raw: bytes | None) -> None:
            before = await _rows(page.runtime.sessions)
            if path == "/chat/messages":
                response = await page.client.get(
                    path,
                    params={
                        k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
                        for k, v in data.items()
                    },
                )
            else:
                body = raw if raw is not None else urlencode(data, errors="surrogatepass").encode()
                response = await page.client.post(
                    path, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
                )
            await response.read()
            statuses[response.status] += 1
            assert response.status < 500, (path, data, raw)
            await page.runtime.worker.drain()
            if response.status >= 400:
                assert await _rows(page.runtime.sessions) == before, (path, data)

        @FUZZ
        @given(
            st.sampled_from(
                ["/chat/say", "/chat/press", "/chat/submit", "/chat/clock/next", "/chat/messages"]
            ),
            st.dictionaries(st.sampled_from(sorted(fields)), PAGE_TEXT | st.none(), max_size=4),
            st.none() | st.binary(max_size=40),
        )
        def one(path: str, changes: dict[str, str | None], raw: bytes | None) -> None:
            data = {k: v for k, v in {**fields, **changes}.items() if v is not None}
            on_loop(send(path, data, raw))

        await _fuzz(one)
    assert tracebacks(caplog) == []
    figure("chat page examples", sum(statuses.values()))
    figure("chat page answers", dict(sorted(statuses.items())))
