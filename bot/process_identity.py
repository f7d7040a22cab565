"""Who this process is: host, pid and start time, written on everything it claims (outbox leases, schedule
occurrence claims) and shown on `/healthz`, so an operator can tell which replica did what.

The identity also lets a restarted process take back at once what a dead predecessor on the same host
still held: `is_dead` says a claimant on this host is gone when its pid is not running, or runs a process
that started at another time (the pid was reused: in a container, every start is pid 1). A claimant on
another host is never judged from here: its leases, renewed while it sends, simply run out.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime

_SEPARATOR = "/"
_STAMP = "%Y%m%dT%H%M%S"


@dataclass(frozen=True)
class ProcessIdentity:
    host: str
    pid: int
    started_at: datetime  # UTC, to the second

    @property
    def label(self) -> str:
        """`host/pid/20261130T042300`: at most 100 characters (the claimed_by columns)."""
        return f"{self.host[:60]}{_SEPARATOR}{self.pid}{_SEPARATOR}{self.started_at.strftime(_STAMP)}"

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.label,
            "host": self.host,
            "pid": self.pid,
            "started_at": self.started_at.isoformat(),
        }

    @classmethod
    def parse(cls, label: str) -> ProcessIdentity | None:
        """The identity a claim was recorded with; None for anything else (older rows said "tandem")."""
        host, sep, rest = label.rpartition(_SEPARATOR)
        host, sep2, pid = host.rpartition(_SEPARATOR)
        if not sep or not sep2 or not pid.isdigit():
            return None
        try:
            started = datetime.strptime(rest, _STAMP).replace(tzinfo=UTC)
        except ValueError:
            return None
        return cls(host, int(pid), started)


def current() -> ProcessIdentity:
    """This process, as it is now (call once at start-up)."""
    started = _process_start(os.getpid()) or time.time()
    return ProcessIdentity(socket.gethostname(), os.getpid(), datetime.fromtimestamp(int(started), UTC))


def is_dead(claimant: str, me: ProcessIdentity) -> bool:
    """True when `claimant` is a process on this host that no longer runs (never for another host's, for
    an unreadable label, or for this process itself)."""
    other = ProcessIdentity.parse(claimant)
    if other is None or other.host != me.host[:60] or other == me:
        return False
    if other.pid == me.pid:  # this pid is ours now: the claimant was an earlier process
        return True
    started = _process_start(other.pid)
    if started is None:
        return not _running(other.pid)
    return abs(started - other.started_at.timestamp()) > 2.0  # the pid was reused by another process


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it runs
        return True
    return True


def _process_start(pid: int) -> float | None:
    """When process `pid` started (Unix time), from /proc (Linux); None where that cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            fields = stat_file.read().rsplit(")", 1)[1].split()
        with open("/proc/stat") as boot_file:
            boot = next(int(line.split()[1]) for line in boot_file if line.startswith("btime "))
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of stat: start time in ticks
