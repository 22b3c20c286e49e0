"""Processes the load and fault tests start: gunicorn with the production config, and a
private PostgreSQL cluster that a test may stop and start (never the shared one on 5432).

Everything binds to 127.0.0.1 on a free port, and everything started is stopped again, also
when a test fails (use both as context managers)."""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa

from config import database_url

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def alive(pid: int) -> bool:
    found = _stat(pid)
    return found is not None and found[0] != "Z"


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            found = _stat(int(entry.name))
            if found is not None and found[1] == pid and found[0] != "Z":
                out.append(int(entry.name))
    return sorted(out)


def wait_until(condition: object, timeout: float, what: str, step: float = 0.1) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py wsgi:app` on 127.0.0.1 with the app's normal Config, except
    what a test on plain http must set: its own database, a secret key, non-Secure cookies."""

    def __init__(self, database_url: str, log: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.secret = secrets.token_urlsafe(32)
        self.env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": self.secret,
                    "SESSION_COOKIE_SECURE": "0", "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                    **env}
        self.proc: subprocess.Popen[bytes] | None = None
        self.stray: list[int] = []  # workers that outlived a killed master (see kill_master)

    @property
    def master(self) -> int:
        assert self.proc is not None, "gunicorn is not running"
        return self.proc.pid

    def workers(self) -> list[int]:
        return children(self.master)

    def cpu_seconds(self) -> dict[int, float]:
        """CPU time used so far by the master and each worker."""
        return {pid: cpu_seconds(pid) for pid in (self.master, *self.workers())}

    def start(self, timeout: float = 60) -> None:
        assert self.proc is None
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        expected = int(self.env.get("GUNICORN_WORKERS", "3"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                raise RuntimeError(f"gunicorn exited at start; see {self.log}")
            if len(self.workers()) >= expected and self.healthy():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not start in {timeout:.0f} s; see {self.log}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as answer:
                return int(answer.status) == 200
        except (OSError, urllib.error.HTTPError):
            return False

    def kill_worker(self, timeout: float = 30) -> tuple[int, int]:
        """SIGKILL one worker; return (killed pid, its replacement) once the master has
        started a new one."""
        before = self.workers()
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(set(self.workers()) - set(before)) >= 1 and not alive(victim),
                   timeout, "gunicorn to replace the killed worker")
        return victim, sorted(set(self.workers()) - set(before))[0]

    def kill_master(self, timeout: float = 30) -> list[int]:
        """SIGKILL the master. Its workers notice they are orphans and leave by themselves;
        wait for them (bounded), so that a restart can bind the port. Returns the workers
        that had to be killed because they did not leave (none is expected)."""
        workers = self.workers()
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: not any(alive(p) for p in workers), timeout,
                       "the orphaned workers to leave")
        stray = [p for p in workers if alive(p)]
        for pid in stray:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.stray += stray
        return stray

    def stop(self) -> None:
        if self.proc is None:
            return
        workers = self.workers()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None
        for pid in workers:  # only ever the workers of the master this object started
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def __enter__(self) -> Gunicorn:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin "
                           "(apt-get install postgresql)")
    return Path(found[-1]).parent


class PrivateCluster:
    """A PostgreSQL cluster of the test's own, in a temp folder, on a free port of 127.0.0.1,
    so a test can stop and start it. As root the server runs as the `postgres` user (it
    refuses to run as root)."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="collateral-pg-"))
        self.data = self.base / "data"
        self.logfile = self.base / "server.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.base, "postgres", "postgres")
        self.base.chmod(0o700)
        self.running = False

    def _run(self, *args: str, timeout: float = 120) -> None:
        subprocess.run([*self.as_user, *args], check=True, timeout=timeout, cwd=self.base,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--encoding=UTF8", "--no-instructions")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=200 -c fsync=on -c synchronous_commit=on")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile),
                  "-o", options, "-w", "-t", "60", "start")
        self.running = True

    def stop(self, mode: str) -> None:
        """`pg_ctl stop -m fast` (clients disconnected, clean shutdown) or `immediate` (as
        after a crash: no shutdown checkpoint, recovery from the WAL at the next start)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60",
                  "stop")
        self.running = False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def close(self) -> None:
        try:
            if self.running or (self.data / "postmaster.pid").exists():
                self.stop("immediate")
        except subprocess.SubprocessError:
            pass
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PrivateCluster:
        try:
            self.init()
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


SHARED_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def throwaway_database(backend: str, label: str,
                       server_url: str | None = None) -> Iterator[str]:
    """A new, empty database: a temp SQLite file, or a new database on a PostgreSQL server
    (the one at `server_url`, else $DATABASE_URL when it is PostgreSQL, else the shared one
    on 127.0.0.1:5432), dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"collateral-{label}-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'load.db'}"
        return
    env = os.environ.get("DATABASE_URL", "")
    server = sa.make_url(database_url(
        server_url or (env if env.startswith("postgres") else SHARED_POSTGRES)))
    name = f"collateral_{label}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT",
                             poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with contextlib.suppress(sa.exc.OperationalError), admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
