"""Images that flows keep in the database (the pulse trend chart), made showable on a chat platform.

A flow's `Image(url, alt)` may name a stored image (`tandem-image:<name>`, see storage/images.py) instead of
a web address; no platform can fetch that. When an adapter sends the card it asks `Images` for the bytes (to
upload them, as Slack does, or carry them inside the message, as Teams does with a `data:` URI) or for a
public link that Tandem itself serves under an unguessable path (`GET /images/<signature>/<name>`, only
when `TANDEM_PUBLIC_URL` says where the bot is reachable). Everything is read from the database at that
moment, so it works on any replica and after any restart.

The signature is an HMAC of the name. Its key comes from `TANDEM_SECRET_KEY` when set, so links stay valid
across restarts and replicas; without it, a key made at start-up, so links die with the process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows.core.types import Card, Image
from storage import images as store
from storage.images import StoredImage

REMOTE = ("https://", "http://", "data:")
ROUTE = "/images/{signature}/{name}"

__all__ = ["ROUTE", "Images", "StoredImage", "data_uri", "is_remote"]


def is_remote(url: str) -> bool:
    """A web address or data URI (anything else, a stored image, is something a platform cannot fetch)."""
    return url.startswith(REMOTE)


def data_uri(content: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(content).decode('ascii')}"


def _key(secret: str | None) -> bytes:
    if secret:
        return hashlib.sha256(b"tandem image links\0" + secret.encode("utf-8")).digest()
    return os.urandom(32)


@dataclass
class Images:
    """The stored images, and where (if anywhere) the public can fetch them from us."""

    sessions: async_sessionmaker[AsyncSession]
    public_url: str | None = None
    secret: str | None = field(default=None, repr=False)
    _signing_key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._signing_key = _key(self.secret)
        if self.public_url:
            self.public_url = self.public_url.rstrip("/")

    async def load(self, url: str) -> StoredImage | None:
        """The image a card's `Image.url` names, if it is a stored image that is still there."""
        name = store.name_of(url)
        if name is None:
            return None
        async with self.sessions() as session:
            return await store.load(session, name)

    async def of_card(self, card: Card) -> dict[str, StoredImage]:
        """The card's stored images that are there, by `Image.url` (a missing one is left out)."""
        found: dict[str, StoredImage] = {}
        for element in card.elements:
            if isinstance(element, Image) and element.url not in found:
                image = await self.load(element.url)
                if image is not None:
                    found[element.url] = image
        return found

    def signature(self, name: str) -> str:
        digest = hmac.new(self._signing_key, name.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode("ascii")  # 192 bits, 32 characters

    def link(self, image: StoredImage) -> str | None:
        """A public https link to the image (None without TANDEM_PUBLIC_URL)."""
        if not self.public_url:
            return None
        return f"{self.public_url}/images/{self.signature(image.name)}/{image.name}"

    async def find(self, signature: str, name: str) -> StoredImage | None:
        """The image a link names, if its signature is right (constant-time comparison)."""
        if not hmac.compare_digest(signature.encode(), self.signature(name).encode()):
            return None
        async with self.sessions() as session:
            return await store.load(session, name)
