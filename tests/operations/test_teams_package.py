"""`tandem teams-package` (issue 19): the privacy and terms links follow `--website-url`; every file in the
zip is readable by whoever unpacks it (0644)."""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path

from bot.settings import Settings
from bot.teams_package import add_parser, run

APP_ID = "00000000-0000-0000-0000-0000000000a1"


def _manifest(tmp_path: Path, *options: str) -> tuple[dict[str, object], zipfile.ZipFile]:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "tandem.zip"
    args = parser.parse_args(["teams-package", "--out", str(out), *options])
    run(args, Settings(MICROSOFT_APP_ID=APP_ID))  # type: ignore[call-arg]
    package = zipfile.ZipFile(out)
    return json.loads(package.read("manifest.json")), package


def test_privacy_and_terms_follow_the_website(tmp_path: Path) -> None:
    manifest, _ = _manifest(tmp_path, "--website-url", "https://lmt.district.example.org/tandem")
    developer = manifest["developer"]
    assert isinstance(developer, dict)
    assert developer["websiteUrl"] == "https://lmt.district.example.org/tandem"
    assert developer["privacyUrl"] == "https://lmt.district.example.org/tandem/privacy"
    assert developer["termsOfUseUrl"] == "https://lmt.district.example.org/tandem/terms"
    chosen, _ = _manifest(
        tmp_path, "--website-url", "https://d.example.org/", "--privacy-url", "https://p.example.org/"
    )
    assert (
        isinstance(chosen["developer"], dict)
        and chosen["developer"]["privacyUrl"] == "https://p.example.org/"
    )


def test_zip_entries_are_0644(tmp_path: Path) -> None:
    _, package = _manifest(tmp_path)
    modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in package.infolist()}
    assert modes == {"manifest.json": 0o644, "color.png": 0o644, "outline.png": 0o644}
