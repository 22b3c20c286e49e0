"""A running stack for the load and fault tests: a throwaway database, gunicorn with the
production config on a free port of 127.0.0.1, and people registered in organisations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import make_app, migrate_to_head
from tests.load.server import Gunicorn, throwaway_database
from tests.load.workload import Account, make_accounts

# Argon2 at 1 MiB instead of 64 MiB, in the browser (KDF) and on the server (auth hash):
# these tests measure durability and recovery, not Argon2, and each of them registers and
# logs in a few dozen people. bench/load.py keeps the production parameters.
FAST_ARGON2 = {"KDF_MEMORY_KIB": "1024", "KDF_TIME_COST": "1",
               "AUTH_HASH_MEMORY_KIB": "1024", "AUTH_HASH_TIME_COST": "1"}


@dataclass
class Stack:
    database_url: str
    server: Gunicorn
    accounts: list[Account]


def cli_invoker(url: str) -> Callable[[list[str]], str]:
    runner = make_app(url).test_cli_runner()

    def invoke(args: list[str]) -> str:
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        return str(result.output)
    return invoke


@contextmanager
def running_stack(backend: str, log_dir: Path, orgs: int, per_org: int,
                  server_url: str | None = None) -> Iterator[Stack]:
    with throwaway_database(backend, "load", server_url) as url:
        migrate_to_head(url)
        with Gunicorn(url, log_dir / "gunicorn.log", **FAST_ARGON2) as server:
            accounts = make_accounts(server.url, cli_invoker(url), orgs, per_org)
            yield Stack(url, server, accounts)
