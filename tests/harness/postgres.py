"""A real PostgreSQL server for the tests: Debian's ``postgresql`` package, ``initdb`` into a
temporary folder and ``pg_ctl`` on a free local port, stopped after the session.

No mocks: the tests that use it run Optuna's RDB storage against the server the way many
machines would. Where the server binaries are missing the fixture fails with the reason
(.ci/run installs the package), never skips silently.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the package's ``postgres`` user."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.fail("running as root and runuser is missing: cannot start PostgreSQL")
    return [runuser, "-u", "postgres", "--", *command]


class Server:
    """The test server's URL, and a way to stop and start it (a database outage)."""

    def __init__(self, url: str, pg_ctl: str, data: Path, log: Path, options: str) -> None:
        self.url, self.pg_ctl, self.data, self.log, self.options = url, pg_ctl, data, log, options

    def stop(self) -> None:
        subprocess.run(
            _as_server_user([self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop"]),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        subprocess.run(
            _as_server_user(
                [
                    self.pg_ctl,
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    self.options,
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture(scope="session")
def postgres_url(postgres_server: Server) -> str:
    return postgres_server.url


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.fail(
            "PostgreSQL's initdb/pg_ctl not found: install Debian's postgresql "
            "package (apt-get install postgresql; .ci/run does)"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail("the PostgreSQL driver is missing: pip install -e '.[dev]' (or '.[postgres]')")
    folder = Path(tempfile.mkdtemp(prefix="harness-pg-"))
    folder.chmod(0o777)  # the server user writes here
    data, port = folder / "data", _free_port()
    log = folder / "server.log"
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=100"
    server = Server(f"postgresql://harness@127.0.0.1:{port}/postgres", pg_ctl, data, log, options)
    try:
        subprocess.run(
            _as_server_user(
                [initdb, "-D", str(data), "-U", "harness", "--auth=trust", "-E", "UTF8"]
            ),
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        server.start()
    except subprocess.CalledProcessError as error:
        detail = (error.stderr or error.stdout or "").strip().splitlines()[-3:]
        text = log.read_text()[-500:] if log.exists() else ""
        pytest.fail(f"could not start PostgreSQL: {' '.join(detail)} {text}")
    try:
        yield server
    finally:
        subprocess.run(
            _as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(folder, ignore_errors=True)
