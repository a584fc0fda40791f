"""Throwaway PostgreSQL and Redis servers that a fault test may kill.

The machine's own PostgreSQL (5432) and Redis (6379) serve every other test and helper:
a test that kills a database kills one of these (see the chaos notes). PostgreSQL is
``initdb``'d as the ``postgres`` user (initdb refuses root) into a temporary directory.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="kcc-pg-"))
        shutil.chown(self.dir, "postgres")
        self.port = free_port()
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/kcc"

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(["su", "postgres", "-c", " ".join(args)], check=True,
                       capture_output=True, timeout=60)

    def init(self) -> None:
        self._as_postgres(str(PG_BIN / "initdb"), "-D", f"{self.dir}/pg", "-A", "trust",
                          "-U", "postgres")

    def start(self) -> None:
        opts = f"'-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off'"
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", f"{self.dir}/pg", "-o", opts,
                          "-l", f"{self.dir}/log", "-w", "start")

    def crash(self) -> None:
        """``-m immediate``: no shutdown checkpoint, clients cut (WAL recovery next start)."""
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", f"{self.dir}/pg", "-m", "immediate",
                          "stop")

    def destroy(self) -> None:
        try:
            self.crash()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="kcc-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.dir), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise AssertionError(f"private redis on {self.port} did not start in 10 s")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def destroy(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
