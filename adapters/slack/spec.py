"""What the Slack app asks for: scopes, events, the command and the URLs. `manifest.yml` must agree
(tests/slack/test_manifest.py checks it)."""

from __future__ import annotations

COMMAND = "/tandem"
EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
OAUTH_REDIRECT_PATH = "/slack/oauth_redirect"

# Web API methods the adapter calls, and the bot scope each needs (None: no scope).
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "conversations.open": "im:write",
    "views.open": None,
    "views.update": None,
    "views.publish": None,
    # files_upload_v2: the upload URL, then the completion that shares the file in a conversation
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "users.info": "users:read",
    "oauth.v2.access": None,
}

# Events the app subscribes to, and the bot scope each needs.
EVENT_SCOPES: dict[str, str | None] = {
    "app_mention": "app_mentions:read",
    "message.im": "im:history",
    "member_joined_channel": "channels:read",
    "app_home_opened": None,
    "tokens_revoked": None,
    "app_uninstalled": None,
}

BOT_EVENTS = tuple(EVENT_SCOPES)
BOT_SCOPES = tuple(
    sorted(
        {s for s in METHOD_SCOPES.values() if s}
        | {s for s in EVENT_SCOPES.values() if s}
        | {"commands", "groups:read", "im:read"}
    )
)
