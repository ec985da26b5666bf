"""A throwaway PostgreSQL cluster for the tests: initdb into a temporary directory, a server
listening only on a unix socket there, one fresh database per test, stopped at the end.

The server binaries come from Debian's ``postgresql`` package (``scripts/ensure-system-deps.sh``
installs it; ``make test`` runs that script first). initdb refuses to run as root, so as root the
cluster belongs to the ``postgres`` system user the package creates (``runuser -u postgres``).
If the server cannot be found or started, :func:`start` raises :class:`PostgresUnavailable` and
the PostgreSQL tests fail with that message: they are never skipped.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SUPERUSER = "study"


class PostgresUnavailable(RuntimeError):
    """The throwaway server could not be started; the message says why and what to do."""


def bindir() -> Path:
    """The directory of initdb/pg_ctl: ``$STUDY_TEST_PG_BINDIR``, else on the PATH, else where
    Debian keeps them (/usr/lib/postgresql/N/bin)."""
    override = os.environ.get("STUDY_TEST_PG_BINDIR")
    if override:
        if not (Path(override) / "initdb").exists():
            raise PostgresUnavailable(f"STUDY_TEST_PG_BINDIR={override} holds no initdb")
        return Path(override)
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if not candidates:
        raise PostgresUnavailable(
            "PostgreSQL server binaries (initdb) not found: run `scripts/ensure-system-deps.sh` "
            "as root (it installs Debian's postgresql package), or `make test`"
        )
    return Path(candidates[-1]).parent


@dataclass
class Server:
    """A running throwaway cluster."""

    root: Path
    bindir: Path
    owner: str | None
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir), user=SUPERUSER, dbname=database, autocommit=True
        ) as conn:
            cur = conn.execute(sql)
            return "" if cur.description is None else str(cur.fetchall())

    def new_database(self, prefix: str = "t") -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        name = f"{prefix}_{os.getpid()}_{next(self._counter)}"
        self.psql(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server we started (by its own pid file) and remove the cluster."""
        pidfile = self.data_dir / "postmaster.pid"
        pid = int(pidfile.read_text().split()[0]) if pidfile.exists() else None
        _run(
            self,
            [
                str(self.bindir / "pg_ctl"),
                "stop",
                "-D",
                str(self.data_dir),
                "-m",
                "immediate",
                "-t",
                "15",
            ],
            check=False,
        )
        if pid is not None and pidfile.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


def _run(server_or_owner: Server | str | None, cmd: list[str], *, check: bool = True) -> str:
    owner = server_or_owner.owner if isinstance(server_or_owner, Server) else server_or_owner
    if owner:
        cmd = ["runuser", "-u", owner, "--", *cmd]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if check and res.returncode != 0:
        tail = (res.stderr or res.stdout).strip().splitlines()[-3:]
        raise PostgresUnavailable(f"{' '.join(cmd)} failed: {' / '.join(tail)}")
    return res.stdout


def start() -> Server:
    """Create and start a cluster in a new temporary directory."""
    bins = bindir()
    owner = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable(
                "running as root but there is no `postgres` system user to own the test cluster "
                "(install Debian's postgresql package: scripts/ensure-system-deps.sh)"
            ) from None
        owner = "postgres"
    root = Path(tempfile.mkdtemp(prefix="study-pg-"))
    server = Server(root, bins, owner)
    (root / "socket").mkdir()
    if owner:
        shutil.chown(root, owner)
        shutil.chown(root / "socket", owner)
    _run(
        owner,
        [
            str(bins / "initdb"),
            "-D",
            str(server.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
    )
    # Only a unix socket in our own directory: no port clashes with other clusters on the host.
    # fsync off: the tests exercise the toolkit's transactions, not the server's disk durability.
    opts = (
        f"-c listen_addresses='' -c unix_socket_directories='{server.socket_dir}' "
        "-c fsync=off -c full_page_writes=off -c max_connections=60"
    )
    _run(
        owner,
        [
            str(bins / "pg_ctl"),
            "start",
            "-D",
            str(server.data_dir),
            "-w",
            "-t",
            "60",
            "-l",
            str(root / "server.log"),
            "-o",
            opts,
        ],
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            server.psql("SELECT 1")
            break
        except Exception as exc:
            if time.monotonic() > deadline:
                server.stop()
                raise PostgresUnavailable(
                    f"the test server did not accept connections: {exc}"
                ) from None
            time.sleep(0.2)
    return server
