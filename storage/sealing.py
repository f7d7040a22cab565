"""Sealing: what a person submitted to an anonymous poll, kept encrypted until the poll closes.

A sealed value is AES-256-GCM ciphertext under a key derived from the server's secret (`TANDEM_SECRET_KEY`,
or the key file Tandem keeps for a local SQLite database), which the database never holds. It is bound to
its row (`context`: poll and person), so a ciphertext copied onto another row does not open. Every
plaintext is padded to a size fixed by the caller, so the ciphertext's length says nothing about what was
said (a long comment and no comment seal to the same length). See docs/privacy.md.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12


class SealBroken(ValueError):
    """The sealed value does not open with this key (the key changed, or the row was tampered with)."""


@dataclass(frozen=True)
class Sealer:
    """Seals and opens JSON values with one key. Make it with `from_secret` (the server's secret)."""

    key: bytes = field(repr=False)

    @classmethod
    def from_secret(cls, secret: str) -> Sealer:
        if not secret:
            raise ValueError("an empty secret cannot seal anything")
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tandem sealed submissions v1")
        return cls(hkdf.derive(secret.encode("utf-8")))

    @classmethod
    def ephemeral(cls) -> Sealer:
        """A random key that lives as long as this object: for tests and the scripted demo only (what is
        sealed with it cannot be opened by another process)."""
        return cls(os.urandom(32))

    @property
    def fingerprint(self) -> str:
        """A short, one-way name for the key, safe to log: tells two keys apart, reveals nothing of them."""
        return hashlib.sha256(b"tandem key fingerprint\0" + self.key).hexdigest()[:12]

    def seal(self, value: dict[str, Any], *, context: str, size: int) -> bytes:
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(plain) >= size:
            raise ValueError(f"a sealed value must be under {size} bytes, this one is {len(plain)}")
        padded = plain + b" " * (size - len(plain))  # JSON ignores trailing white space
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self.key).encrypt(nonce, padded, context.encode("utf-8"))

    def open(self, sealed: bytes, *, context: str) -> dict[str, Any]:
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            plain = AESGCM(self.key).decrypt(nonce, body, context.encode("utf-8"))
        except InvalidTag as exc:
            raise SealBroken("the sealed value does not open with this key") from exc
        value = json.loads(plain)
        if not isinstance(value, dict):
            raise SealBroken("the sealed value is not an object")
        return value
