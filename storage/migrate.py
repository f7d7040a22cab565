"""Run Alembic migrations programmatically (`tandem db upgrade`; `tandem serve` runs them on start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    """Bring the database to `revision` using an existing async engine. Feature migrations may branch
    from the same parent; "heads" applies every branch.

    On SQLite, foreign keys are off while migrations run and checked before commit, as SQLite prescribes
    for rebuilding a table (what Alembic's batch mode does): with them on, dropping the old copy of a table
    would cascade and delete every row that refers to it (a poll's answers, say)."""

    def _upgrade(connection: object) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"

        async def foreign_keys(on: bool) -> None:  # on the driver's own connection: outside any transaction
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")

        if sqlite:
            await foreign_keys(False)
        try:
            async with connection.begin():
                await connection.run_sync(_upgrade)
                if sqlite:
                    broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"a migration left rows that refer to nothing: {broken[:5]}")
        finally:
            if sqlite:
                await foreign_keys(True)
