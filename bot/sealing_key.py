"""The key that seals poll submissions until close (storage/sealing.py): where it comes from.

- `TANDEM_SECRET_KEY`, when set: the one to use in production. Keep it out of the database and out of the
  database's backups; every replica needs the same one.
- Else, for a SQLite database file: a random key in a file beside it (`tandem.db.key`, mode 0600), made on
  first start. Good for trying Tandem on one machine; whoever copies both files can open what is sealed.
- Else (PostgreSQL without `TANDEM_SECRET_KEY`): start-up stops with one line. A key that only one replica
  knew, or that a restart lost, would make every sealed answer unreadable at close.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.settings import Settings, SettingsError
from storage.sealing import Sealer

KEY_FILE_SUFFIX = ".key"


def key_file_for(database_url: str) -> Path | None:
    """The key file beside a SQLite database file; None for PostgreSQL or an in-memory database."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).with_name(Path(url.database).name + KEY_FILE_SUFFIX)


def sealer_for(settings: Settings) -> Sealer:
    if settings.secret_key:
        return Sealer.from_secret(settings.secret_key)
    url = make_url(settings.database_url)
    if not url.drivername.startswith("sqlite"):
        raise SettingsError(
            "TANDEM_SECRET_KEY is required with PostgreSQL: it seals poll answers until close and must be "
            "the same on every replica (make one with: python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')"
        )
    path = key_file_for(settings.database_url)
    if path is None:
        return Sealer.ephemeral()  # an in-memory database dies with the process too
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first
        except OSError as exc:
            raise SettingsError(f"cannot create the sealing key file {path}: {exc.strerror}") from exc
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32) + "\n")
    try:
        secret = path.read_text().strip()
    except OSError as exc:
        raise SettingsError(f"cannot read the sealing key file {path}: {exc.strerror}") from exc
    if not secret:
        raise SettingsError(f"the sealing key file {path} is empty: delete it only if no poll is open")
    return Sealer.from_secret(secret)
