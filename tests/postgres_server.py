"""A real PostgreSQL server for the tests: Debian's package (``make test`` installs it when
missing), a fresh cluster in a temporary folder, on 127.0.0.1 and a free port, stopped at the
end of the session.

initdb refuses to run as root, so as root (CI) the cluster belongs to the ``postgres`` user
the package creates.
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


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    path = found[-1] if found else shutil.which(name)
    if not path:
        pytest.fail(f"PostgreSQL's {name} is missing: `make test` installs the postgresql "
                    "package (apt-get) when it is not there")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL of an empty database on a server started for this session."""
    folder = Path(tempfile.mkdtemp(prefix="faqbot-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = _free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(_as_owner([_bin("initdb"), "-D", str(data), "-U", "faqbot", "-A", "trust",
                              "-E", "UTF8", "--no-sync"]), **run)
    options = f"-h 127.0.0.1 -p {port} -k {folder} -F -c fsync=off"
    subprocess.run(_as_owner([_bin("pg_ctl"), "-D", str(data), "-o", options, "-l",
                              str(folder / "server.log"), "-w", "-t", "60", "start"]), **run)
    try:
        yield f"postgresql+psycopg://faqbot@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_owner([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                                  "stop"]), capture_output=True, timeout=60, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def empty_tables(url: str) -> None:
    """Drop faqbot's tables, so each test starts from nothing."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS opt_out_status, opt_out_changes"))
    engine.dispose()
