"""The message catalog: every sentence Tandem says comes from here, in the reader's language.

The texts live in gettext catalogs, `flows/locale/<language>/LC_MESSAGES/*.po` (English complete): `tandem.po`
for the core and the first flows, one file per later flow (`checkins.po`, ...) so that flows grow apart.
They are read with Babel once per language on first use; a key in two files is a mistake and raises.
A msgid is a stable key (`pulse.receipt.first`), its
msgstr the sentence with `{named}` placeholders (`str.format`). Content files (norms, instruments, prompts:
flows/content/) keep their own texts.

Whose language: a reply is in the speaker's, a private message in the recipient's, a channel post in the
team's. A person's own language (`Person.language`) overrides their team's (`Team.language`); English
when neither is set or a language has no catalog. A text missing from a language falls back to English;
a key missing from English is a mistake and raises (a test catches the typo).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "tandem"
DEFAULT_LANGUAGE = "en"
# A key: dotted lowercase words (`pulse.receipt.first`). A Command summary that is not key-shaped is shown
# as written (a flow outside flows/, a test's); one that is key-shaped must be in the catalog.
KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


class UnknownKey(KeyError):
    """A text key the English catalog does not have."""


def po_paths(language: str) -> list[Path]:
    """The catalog files of `language`, in name order."""
    return sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po"))


@cache
def messages(language: str) -> dict[str, str]:
    """The catalog of `language` as key → text ({} when there is none); read once."""
    found: dict[str, str] = {}
    for path in po_paths(language):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language, domain=DOMAIN)
        for m in catalog:
            if not (m.id and isinstance(m.string, str) and m.string):
                continue
            if str(m.id) in found:
                raise ValueError(f"{path.name}: the key {m.id} is already in another catalog file")
            found[str(m.id)] = str(m.string)
    return found


def languages() -> list[str]:
    """The languages with a catalog."""
    return sorted(p.name for p in LOCALE_DIR.iterdir() if po_paths(p.name))


def text(key: str, lang: str = DEFAULT_LANGUAGE, /, **values: Any) -> str:
    """The text `key` in `lang` (English if `lang` lacks it), its placeholders filled from `values`."""
    english = messages(DEFAULT_LANGUAGE)
    if key not in english:
        raise UnknownKey(key)
    template = messages(lang).get(key) if lang != DEFAULT_LANGUAGE else None
    return (template or english[key]).format(**values)


def is_key(value: str) -> bool:
    return KEY.match(value) is not None


class _HasLanguage(Protocol):
    @property
    def language(self) -> str | None: ...


def language_of(person: _HasLanguage | None = None, team: _HasLanguage | None = None) -> str:
    """The language to speak to `person` in (a PersonView or a MemberView): their own, else their team's,
    else English."""
    for chosen in (person.language if person else None, team.language if team else None):
        if chosen:
            return chosen
    return DEFAULT_LANGUAGE


class Words:
    """The catalog in one reader's language: `say("pulse.closed", name=...)`."""

    def __init__(self, lang: str = DEFAULT_LANGUAGE) -> None:
        self.lang = lang

    def __call__(self, key: str, /, **values: Any) -> str:
        return text(key, self.lang, **values)


def words(person: _HasLanguage | None = None, team: _HasLanguage | None = None) -> Words:
    """The catalog for `person` (on `team`): `words(ctx.person, team)` for a reply, `words(member, team)`
    for a private message, `words(team=team)` for a channel post."""
    return Words(language_of(person, team))
