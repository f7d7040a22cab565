"""Images that flows make as local files (the pulse trend chart), made showable on a chat platform.

A flow's `Image(url, alt)` may name a PNG file in the chart folder instead of a web address; no platform
can fetch that. An adapter asks `ImageFiles` for the file's bytes (to carry them inside the message, as
Teams does with a `data:` URI) or for a public link that Tandem itself serves under an unguessable path
(`GET /images/<signature>/<file name>`, only when `TANDEM_PUBLIC_URL` says where the bot is reachable).

The signature is an HMAC of the file name. Its key comes from `TANDEM_SECRET_KEY` when set, so links stay
valid across restarts and replicas; without it, a key made at start-up, so links die with the process.
Only files directly inside the chart folder are ever read or served.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

REMOTE = ("https://", "http://", "data:")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.png$")
ROUTE = "/images/{signature}/{name}"


def is_remote(url: str) -> bool:
    """A web address or data URI (anything else is a local file a platform cannot fetch)."""
    return url.startswith(REMOTE)


def data_uri(content: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(content).decode('ascii')}"


def _key(secret: str | None) -> bytes:
    if secret:
        return hashlib.sha256(b"tandem image links\0" + secret.encode("utf-8")).digest()
    return os.urandom(32)


@dataclass(frozen=True)
class LocalImage:
    path: Path
    content: bytes

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class ImageFiles:
    """The chart folder, and where (if anywhere) the public can fetch its files from us."""

    directory: Path
    public_url: str | None = None
    secret: str | None = field(default=None, repr=False)
    _signing_key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._signing_key = _key(self.secret)
        if self.public_url:
            self.public_url = self.public_url.rstrip("/")

    def _inside(self, path: Path) -> Path | None:
        try:
            resolved = path.resolve()
            folder = self.directory.resolve()
        except OSError:
            return None
        if resolved.parent != folder or not _NAME.match(resolved.name) or not resolved.is_file():
            return None
        return resolved

    def load(self, url: str) -> LocalImage | None:
        """The PNG a local `Image.url` names, if it is a file in the chart folder (None otherwise, or if
        it is gone: charts live in one server's folder and a temp folder may be cleaned)."""
        if is_remote(url):
            return None
        path = self._inside(Path(url))
        if path is None:
            return None
        try:
            content = path.read_bytes()
        except OSError:
            return None
        return LocalImage(path, content) if content.startswith(b"\x89PNG\r\n\x1a\n") else None

    def signature(self, name: str) -> str:
        digest = hmac.new(self._signing_key, name.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode("ascii")  # 192 bits, 32 characters

    def link(self, image: LocalImage) -> str | None:
        """A public https link to the file (None without TANDEM_PUBLIC_URL)."""
        if not self.public_url:
            return None
        return f"{self.public_url}/images/{self.signature(image.name)}/{image.name}"

    def find(self, signature: str, name: str) -> Path | None:
        """The file a link names, if its signature is right (constant-time comparison)."""
        if not _NAME.match(name) or not hmac.compare_digest(
            signature.encode(), self.signature(name).encode()
        ):
            return None
        return self._inside(self.directory / name)
