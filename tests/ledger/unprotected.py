"""The negative control: a deliberately unprotected check-then-act stock, test-only.

It is the bug every peer shipped (read what is left, decide, write the new figure back
with no guard and no lock), run against the same real backend as the ledger, in its
own table or key so the ledger's constraints do not interfere. The race tests run it
through the same harness as the ledger: if the harness could not make this oversell,
it could not prove that the ledger does not.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class NaiveStock(Protocol):
    def set(self, units: int) -> None: ...

    def read(self) -> int: ...

    def write(self, units: int) -> None: ...


class _Memory:
    units = 0

    def set(self, units: int) -> None:
        self.units = units

    def read(self) -> int:
        return self.units

    def write(self, units: int) -> None:
        self.units = units


class _SQLite:
    def __init__(self, path: str) -> None:
        self.path = path
        self.local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        if not hasattr(self.local, "conn"):
            self.local.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn: sqlite3.Connection = self.local.conn
        return conn

    def set(self, units: int) -> None:
        self._conn().execute("CREATE TABLE IF NOT EXISTS naive_stock (units INTEGER)")
        self._conn().execute("DELETE FROM naive_stock")
        self._conn().execute("INSERT INTO naive_stock VALUES (?)", (units,))

    def read(self) -> int:
        return int(self._conn().execute("SELECT units FROM naive_stock").fetchone()[0])

    def write(self, units: int) -> None:
        self._conn().execute("UPDATE naive_stock SET units = ?", (units,))


class _Postgres:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.table = f"naive_stock_{query.pop('namespace', 'x')}"
        self.url = urlunsplit(parts._replace(query=urlencode(query)))
        self.local = threading.local()

    def _run(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        import psycopg

        if not hasattr(self.local, "conn"):
            self.local.conn = psycopg.connect(self.url, autocommit=True)
        cur = self.local.conn.execute(sql, params)
        return list(cur.fetchall()) if cur.description else []

    def set(self, units: int) -> None:
        self._run(f"CREATE TABLE IF NOT EXISTS {self.table} (units bigint)")
        self._run(f"DELETE FROM {self.table}")
        self._run(f"INSERT INTO {self.table} VALUES (%s)", (units,))

    def read(self) -> int:
        return int(str(self._run(f"SELECT units FROM {self.table}")[0][0]))

    def write(self, units: int) -> None:
        self._run(f"UPDATE {self.table} SET units = %s", (units,))

    def drop(self) -> None:
        self._run(f"DROP TABLE IF EXISTS {self.table}")


class _Redis:
    def __init__(self, url: str) -> None:
        import redis

        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.key = f"{query.pop('namespace', 'x')}:naive_stock"
        self.client = redis.Redis.from_url(
            urlunsplit(parts._replace(query=urlencode(query))), decode_responses=True
        )

    def set(self, units: int) -> None:
        self.client.set(self.key, units)

    def read(self) -> int:
        return int(str(self.client.get(self.key)))

    def write(self, units: int) -> None:
        self.client.set(self.key, units)


def naive_stock(backend: str, url: str) -> NaiveStock:
    if backend == "memory":
        return _Memory()
    if backend == "sqlite":
        return _SQLite(url.removeprefix("sqlite:///") + ".naive")
    if backend == "postgres":
        return _Postgres(url)
    return _Redis(url)


def naive_take(stock: NaiveStock, barrier: threading.Barrier | None) -> bool:
    """Check, wait for every contender to have checked, then act on the stale read."""
    seen = stock.read()
    if barrier is not None:
        barrier.wait()
    if seen < 1:
        return False
    stock.write(seen - 1)
    return True
