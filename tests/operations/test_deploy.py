"""The deployment as docs/deploy.md describes it (issue 19, item 1).

No Docker engine with Compose runs here, so compose.yaml is checked by reading it (and by
`docker compose config` only where Compose is installed); the VM steps (docs/deploy.md §2 and §4) run by
hand against the local PostgreSQL: the docs' own SQL, `tandem db upgrade`, `tandem team import`,
`tandem team list`, and a pg_dump / pg_restore round trip."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from bot.cli import main
from bot.settings import Settings
from tests.conftest import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parents[2]
# read by Compose itself (compose.yaml's interpolation) or by Caddy, not by Tandem
COMPOSE_ONLY = {"POSTGRES_PASSWORD", "TANDEM_DOMAIN"}


def _compose() -> dict[str, object]:
    data = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _env_example() -> dict[str, str]:
    """Every variable .env.example names, set or commented out."""
    found = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]+)=(.*)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_compose_runs_tandem_after_a_healthy_postgresql_and_migrates() -> None:
    compose = _compose()
    services = compose["services"]
    assert isinstance(services, dict)
    postgres, tandem = services["postgres"], services["tandem"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "/healthz" in " ".join(tandem["healthcheck"]["test"])
    assert tandem["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert tandem["command"][-1].startswith("tandem db upgrade && exec tandem serve")
    assert tandem["env_file"] == ".env"
    # the database lives in a named volume, declared at the top level
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in compose["volumes"] and "/" not in volume  # type: ignore[operator]
    # Tandem reaches PostgreSQL by its service name, with the role and database PostgreSQL creates
    url = make_url(
        tandem["environment"]["TANDEM_DATABASE_URL"].replace("${POSTGRES_PASSWORD:?", "").split("}")[0]
        + "@postgres:5432/tandem"
    )
    assert url.drivername == "postgresql+asyncpg" and url.host == "postgres"
    assert (url.username, url.database) == (
        postgres["environment"]["POSTGRES_USER"],
        postgres["environment"]["POSTGRES_DB"],
    )
    # published on loopback only: the reverse proxy is the way in
    assert tandem["ports"] == ["127.0.0.1:3978:3978"]
    caddy = services["caddy"]
    assert caddy["profiles"] == ["tls"] and (ROOT / caddy["volumes"][0].split(":")[0]).is_file()


def test_every_variable_compose_reads_is_in_env_example_and_every_one_there_is_read() -> None:
    text = (ROOT / "compose.yaml").read_text()
    referenced = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    example = _env_example()
    assert referenced and referenced <= set(example), referenced - set(example)
    tandem_reads = {field.alias for field in Settings.model_fields.values()}
    unknown = set(example) - tandem_reads - COMPOSE_ONLY
    assert not unknown, f".env.example names variables nothing reads: {unknown}"
    assert {"POSTGRES_PASSWORD", "TANDEM_SECRET_KEY"} <= {k for k, v in example.items() if not v}


def test_docker_compose_config_where_compose_is_installed(tmp_path: Path) -> None:
    """`docker compose config` validates the file against Compose's own schema, offline. The development
    machine has the docker CLI but not its compose plugin: there this only checks that the file is one
    YAML document (the tests above check its contents)."""
    docs = list(yaml.safe_load_all((ROOT / "compose.yaml").read_text()))
    assert len(docs) == 1
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode:
        return
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(".venv", ".git", "*.db*", "tests", "bench"))
    (project / ".env").write_text("POSTGRES_PASSWORD=pw\nTANDEM_SECRET_KEY=k\n")
    result = subprocess.run(
        [docker, "compose", "config", "--quiet"], cwd=project, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def _sql_from_docs() -> list[str]:
    """The statements of docs/deploy.md's ```sql block (creating the role and the database)."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    (block,) = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    return [s.strip() for s in block.split(";") if s.strip()]


def _psql(sql: str) -> None:
    admin = make_url(PG_ADMIN_URL)
    subprocess.run(
        [
            "psql",
            "-h",
            admin.host or "127.0.0.1",
            "-p",
            str(admin.port or 5432),
            "-U",
            admin.username or "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-qc",
            sql,
        ],
        check=True,
        capture_output=True,
        text=True,
    )


@pytest.fixture
def by_hand_database() -> Iterator[tuple[str, str, str]]:
    """The role and database docs/deploy.md §2 creates, under fresh names; (role, password, database)."""
    suffix = uuid.uuid4().hex[:8]
    role, database, password = f"tandem_{suffix}", f"tandem_{suffix}", f"pw-{suffix}"
    statements = _sql_from_docs()
    assert statements == [
        "CREATE ROLE tandem LOGIN PASSWORD 'change-me'",
        "CREATE DATABASE tandem OWNER tandem",
    ]
    for statement in statements:
        _psql(statement.replace("'change-me'", f"'{password}'").replace("tandem", role))
    yield role, password, database
    for name in (database, f"{database}_restored"):
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _psql(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture
def tandem(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., str]:
    """`tandem ARGS` with TANDEM_DATABASE_URL=url, run in this process (the same `main` the shell runs)."""
    for name in list(os.environ):
        if name.startswith(("TANDEM_", "SLACK_", "MICROSOFT_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TANDEM_SECRET_KEY", "deploy-test-key")
    monkeypatch.chdir(ROOT)

    def run(url: str, *args: str) -> str:
        monkeypatch.setenv("TANDEM_DATABASE_URL", url)
        code = main(list(args))
        out, err = capsys.readouterr()
        assert code == 0, err
        return out

    return run


def test_the_vm_steps_by_hand_on_postgresql(
    by_hand_database: tuple[str, str, str], tandem: Callable[..., str], tmp_path: Path
) -> None:
    role, password, database = by_hand_database
    admin = make_url(PG_ADMIN_URL)
    url = f"postgresql+asyncpg://{role}:{password}@{admin.host}:{admin.port or 5432}/{database}"
    assert tandem(url, "db", "upgrade").strip() == "Database is up to date."
    assert tandem(url, "team", "import", "examples/team.yaml").startswith(
        "Created team 'Riverside District Learning Team'"
    )
    assert tandem(url, "team", "list").startswith("Riverside District Learning Team  (America/Los_Angeles")
    # §4: a dump, restored into an empty database owned by the role, holds the team
    dump = tmp_path / "tandem.dump"
    plain = url.replace("+asyncpg", "")
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", plain], check=True, capture_output=True)
    _psql(f'CREATE DATABASE "{database}_restored" OWNER "{role}"')
    restored = plain.rsplit("/", 1)[0] + f"/{database}_restored"
    subprocess.run(
        ["pg_restore", "--no-owner", f"--role={role}", f"--dbname={restored}", str(dump)],
        check=True,
        capture_output=True,
    )
    assert "Riverside District Learning Team" in tandem(
        url.rsplit("/", 1)[0] + f"/{database}_restored", "team", "list"
    )
