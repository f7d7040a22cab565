"""A throwaway PostgreSQL cluster of its own, on its own port, that a test may stop and start at will (never
the shared server on 5432 that other tests use): initdb + pg_ctl from /usr/lib/postgresql/*/bin, as the
`postgres` user when the tests run as root (CI does)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from tests.serve_process import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"no {name} under /usr/lib/postgresql/*/bin: apt-get install postgresql")
    return found[-1]


def _run(*command: str, timeout: float = 60) -> None:
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        command = ("runuser", "-u", "postgres", "--", *command)
    subprocess.run(command, check=True, capture_output=True, timeout=timeout)


@dataclass
class Cluster:
    directory: str
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        _run(
            _bin("pg_ctl"),
            "-D",
            f"{self.directory}/data",
            "-o",
            options,
            "-l",
            f"{self.directory}/log",
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server. A fast stop that has not finished in 20 s (once, on a freshly booted machine, it
        waited past a minute) becomes an immediate one, as an operator would do; the server's log is printed
        (shown if the test fails)."""
        try:
            _run(_bin("pg_ctl"), "-D", f"{self.directory}/data", "-m", mode, "-w", "stop", timeout=20)
        except subprocess.TimeoutExpired:
            if mode == "immediate":
                raise
            print(f"pg_ctl stop -m {mode} took over 20 s; the server's log:\n{self.log_tail()}")
            _run(_bin("pg_ctl"), "-D", f"{self.directory}/data", "-m", "immediate", "-w", "stop")

    def log_tail(self, lines: int = 40) -> str:
        try:
            with open(f"{self.directory}/log", encoding="utf-8", errors="replace") as log:
                return "".join(log.readlines()[-lines:])
        except OSError as exc:
            return f"(no log: {exc})"


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    directory = tempfile.mkdtemp(prefix="tandem-pg-")
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    cluster = Cluster(directory, free_port())
    try:
        _run(
            _bin("initdb"),
            "-D",
            f"{directory}/data",
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
