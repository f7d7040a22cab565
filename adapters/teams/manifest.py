"""The Teams app package: manifest.json (schema 1.17) and two icons, zipped for upload ("sideloading").

The command list comes from the engine's commands, so what Teams suggests is what the bot understands.
The icons are drawn here (pure Python PNG encoder): a 192×192 colour icon and a 32×32 white-on-transparent
outline, as Teams requires.
"""

from __future__ import annotations

import json
import re
import struct
import uuid
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MANIFEST_VERSION = "1.17"
MANIFEST_SCHEMA = (
    f"https://developer.microsoft.com/en-us/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
)
COMMAND_SCOPES = ("personal", "team", "groupChat")
ACCENT = (46, 107, 94)  # #2E6B5E
MAX_COMMANDS = 10  # per command list, Teams' limit


def _png(width: int, height: int, pixel: Any) -> bytes:
    """An RGBA PNG; `pixel(x, y)` gives (r, g, b, a)."""
    rows = b"".join(
        b"\x00" + b"".join(struct.pack("4B", *pixel(x, y)) for x in range(width)) for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _two_rings(size: int, x: int, y: int) -> bool:
    """Two interlocking rings: two sides working in tandem."""
    c = size / 2
    r = size * 0.22
    w = max(1.0, size * 0.06)
    for cx in (c - size * 0.12, c + size * 0.12):
        d = ((x + 0.5 - cx) ** 2 + (y + 0.5 - c) ** 2) ** 0.5
        if abs(d - r) <= w:
            return True
    return False


def color_icon() -> bytes:
    return _png(192, 192, lambda x, y: (255, 255, 255, 255) if _two_rings(192, x, y) else (*ACCENT, 255))


def outline_icon() -> bytes:
    return _png(32, 32, lambda x, y: (255, 255, 255, 255) if _two_rings(32, x, y) else (0, 0, 0, 0))


def _command_title(usage: str) -> str:
    return re.split(r"\s", usage.strip(), maxsplit=1)[0][:32]


def build_manifest(
    app_id: str,
    commands: Sequence[tuple[str, str]],
    *,
    version: str = "0.1.0",
    website_url: str = "https://tandem.invalid/",
    privacy_url: str = "https://tandem.invalid/privacy",
    terms_url: str = "https://tandem.invalid/terms",
    developer: str = "Tandem contributors",
) -> dict[str, Any]:
    """The manifest for the bot `app_id`; `commands` are (usage, summary) pairs in the order shown."""
    uuid.UUID(app_id)  # Teams requires the app id (the bot's Azure app registration) to be a GUID
    listed = [{"title": _command_title(usage), "description": summary[:128]} for usage, summary in commands][
        :MAX_COMMANDS
    ]
    return {
        "$schema": MANIFEST_SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": developer,
            "websiteUrl": website_url,
            "privacyUrl": privacy_url,
            "termsOfUseUrl": terms_url,
        },
        "name": {"short": "Tandem", "full": "Tandem for labor–management teams"},
        "description": {
            "short": "Norms, roles and follow-through for labor–management teams.",
            "full": (
                "Tandem helps school labor–management teams keep their norms, meeting roles and promises "
                "visible where they already talk: a reminder before each meeting with the norm of focus and "
                "fairly rotating roles, and chat commands to see the team, its norms and its roles."
            ),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [
            {
                "botId": app_id,
                "scopes": list(COMMAND_SCOPES),
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [{"scopes": list(COMMAND_SCOPES), "commands": listed}],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [],
    }


def write_package(path: Path, manifest: dict[str, Any]) -> Path:
    """Write the zip Teams accepts: manifest.json and both icons at the root."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = {
        "manifest.json": json.dumps(manifest, indent=2, ensure_ascii=False).encode(),
        "color.png": color_icon(),
        "outline.png": outline_icon(),
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for name, data in entries.items():
            entry = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            entry.external_attr = 0o100644 << 16  # a regular file, rw-r--r-- (writestr's default is 0600)
            entry.compress_type = zipfile.ZIP_DEFLATED
            package.writestr(entry, data)
    return path
