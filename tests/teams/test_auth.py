"""Authentication on the production path: botbuilder validates Bot Framework JWTs against OpenID metadata and
keys served from a local server (in a thread: the SDK fetches them with a blocking `requests.get`)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from botframework.connector.auth import ChannelValidation
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import func, select

from flows.core.clock import ManualClock
from storage.models import ProcessedEvent
from storage.teams_conversations import TeamsConversation
from tests.teams.conftest import APP_ID, FakeConnector, TeamsRig, make_rig

ISSUER = "https://api.botframework.com"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
STRANGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class _Metadata(BaseHTTPRequestHandler):
    base = ""

    def do_GET(self) -> None:
        if self.path.startswith("/.well-known/"):
            body: dict[str, Any] = {"issuer": ISSUER, "jwks_uri": f"{self.base}/keys"}
        else:
            jwk = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
            body = {"keys": [{**jwk, "kid": "tandem-test", "use": "sig", "endorsements": ["msteams"]}]}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def openid(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Metadata)
    _Metadata.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"{_Metadata.base}/.well-known/openidconfiguration"
    monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", url)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture
async def secure(
    database_url: str, clock: ManualClock, connector: FakeConnector, openid: str
) -> AsyncIterator[TeamsRig]:
    async for value in make_rig(database_url, clock, connector, app_id=APP_ID, sends_per_second=0):
        yield value


def token(service_url: str, *, key: Any = KEY, kid: str = "tandem-test", **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": APP_ID, "serviceurl": service_url, "nbf": now - 60, "exp": now + 3600}
    payload.update(claims)
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


async def _stored(rig: TeamsRig) -> int:
    async with rig.runtime.sessions() as session:
        events = (await session.execute(select(func.count()).select_from(ProcessedEvent))).scalar_one()
        refs = (await session.execute(select(func.count()).select_from(TeamsConversation))).scalar_one()
    return int(events) + int(refs)


async def test_a_valid_token_is_accepted_and_replies_carry_our_token(secure: TeamsRig) -> None:
    activity = secure.activity("message_channel_reply_with_mention", text="<at>ridotest</at> help")
    status, _ = await secure.post(activity, {"Authorization": f"Bearer {token(secure.connector.url)}"})
    assert status == 200
    assert await _stored(secure) == 2
    assert await secure.deliver() == 1
    assert {c.authorization for c in secure.connector.calls} == {"Bearer fake-outbound-token"}


async def test_an_invoke_with_a_valid_token_gets_its_body(secure: TeamsRig) -> None:
    activity = secure.activity("invoke_adaptive_card_action_execute")
    status, body = await secure.post(activity, {"Authorization": f"Bearer {token(secure.connector.url)}"})
    assert status == 200 and body["statusCode"] == 200


def _bad_headers(url: str) -> list[tuple[str, dict[str, str]]]:
    past = int(time.time()) - 7200
    return [
        ("missing", {}),
        ("malformed", {"Authorization": "Bearer not.a.jwt"}),
        ("not bearer", {"Authorization": f"Basic {token(url)}"}),
        ("expired", {"Authorization": f"Bearer {token(url, nbf=past - 60, exp=past)}"}),
        ("wrong audience", {"Authorization": f"Bearer {token(url, aud='someone-else')}"}),
        ("wrong serviceurl", {"Authorization": f"Bearer {token('http://127.0.0.1:9/evil/')}"}),
        ("unknown key", {"Authorization": f"Bearer {token(url, key=STRANGER, kid='rotated-away')}"}),
        ("forged with a known kid", {"Authorization": f"Bearer {token(url, key=STRANGER)}"}),
        ("wrong issuer", {"Authorization": f"Bearer {token(url, iss='https://evil.example')}"}),
    ]


async def test_bad_tokens_are_401_and_store_nothing(secure: TeamsRig) -> None:
    for name, headers in _bad_headers(secure.connector.url):
        for fixture in ("message_channel_reply_with_mention", "invoke_adaptive_card_action_execute"):
            status, body = await secure.post(secure.activity(fixture), headers)
            assert status == 401, (name, fixture, status, body)
    assert await _stored(secure) == 0
    assert secure.connector.calls == []
