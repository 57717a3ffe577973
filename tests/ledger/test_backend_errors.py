"""Backend errors classified by what a retry can change; URLs with typos refused up front."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from promorules.counters import CounterKey, CounterKind, CounterSpec
from promorules.ledger import (
    BackendError,
    BackendUnavailable,
    InvalidRequest,
    LedgerFormatError,
    RetryableLedgerError,
    open_ledger,
)
from tests.ledger.conftest import fresh_url, server_url, with_namespace

FLASH = CounterKey(CounterKind.FLASH_STOCK, "flash", "sku-1")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("synchronus=normal", "did you mean 'synchronous'"),
        ("timeout=-5", "timeout is 0 to"),
        ("timeout=nan", "timeout is 0 to"),
        ("pool=0", "pool is 1 to"),
        ("timeout=soon", "bad sqlite URL option"),
    ],
)
def test_sqlite_url_options_are_checked(tmp_path: Path, query: str, says: str) -> None:
    with pytest.raises(InvalidRequest, match=says):
        open_ledger(f"sqlite:///{tmp_path / 'l.db'}?{query}")


def test_redis_url_options_are_checked() -> None:
    url = server_url("redis")
    with pytest.raises(InvalidRequest, match="did you mean 'namespace'"):
        open_ledger(with_namespace(url, "x").replace("namespace=", "namspace="))
    with pytest.raises(InvalidRequest, match="pool is 1 to"):
        open_ledger(f"{url}?pool=0")


def test_postgres_url_options_are_checked() -> None:
    url = server_url("postgres")
    with pytest.raises(InvalidRequest, match="did you mean 'lock_timeout'"):
        open_ledger(f"{url}?lock_timeot=5")
    with pytest.raises(InvalidRequest, match="unknown postgresql URL option 'bogus'"):
        open_ledger(f"{url}?bogus=1")


def test_sqlite_missing_table_is_not_retryable(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with open_ledger(f"sqlite:///{path}") as ledger:
        ledger.provision([CounterSpec(FLASH, 5)])
        with sqlite3.connect(path) as conn:
            conn.execute("DROP TABLE reservations")
        with pytest.raises(BackendError, match="no such table") as caught:
            ledger.reserve(((FLASH, 1),), "o1", 60)
    assert not isinstance(caught.value, RetryableLedgerError)


def test_sqlite_busy_stays_retryable(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with open_ledger(f"sqlite:///{path}?timeout=0") as ledger:
        ledger.provision([CounterSpec(FLASH, 5)])
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(RetryableLedgerError):
                ledger.reserve(((FLASH, 1),), "o1", 60)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()


def test_postgres_errors_a_retry_cannot_change_are_not_retryable(tmp_path: Path) -> None:
    from promorules.ledger.postgres import PostgresLedger

    url = fresh_url("postgres", tmp_path)
    ledger = open_ledger(url)
    assert isinstance(ledger, PostgresLedger)
    try:
        with pytest.raises(InvalidRequest, match="out of range"), ledger._transaction() as conn:
            conn.execute("SELECT 9223372036854775807::bigint + 1")
        with pytest.raises(InvalidRequest, match="NUL"), ledger._transaction() as conn:
            conn.execute("SELECT %s::text", ("a\x00b",))
        ledger.provision([CounterSpec(FLASH, 5)])
        with ledger._transaction() as conn:
            conn.execute("DROP TABLE reservations")
        with pytest.raises(BackendError, match="reservations") as caught:
            ledger.reserve(((FLASH, 1),), "o1", 60)
        assert not isinstance(caught.value, RetryableLedgerError)
    finally:
        ledger.destroy()


def test_postgres_without_a_server_is_retryable() -> None:
    server_url("postgres")  # psycopg is installed where the postgres runs are
    namespace = f"t_{uuid.uuid4().hex[:12]}"
    with pytest.raises(BackendUnavailable):
        open_ledger(f"postgresql://nobody@127.0.0.1:1/none?namespace={namespace}&connect_timeout=2")


# -- ledgers written with the old key text ----------------------------------------


def plant_old_keys(url: str, backend: str, names: list[str]) -> None:
    """Make ``url`` look like a ledger written before key format 2, holding ``names``."""
    with open_ledger(url) as ledger:
        if backend == "sqlite":
            path = url.removeprefix("sqlite:///")
            with sqlite3.connect(path) as conn:
                conn.execute("DELETE FROM meta")
                conn.executemany(
                    "INSERT INTO counters VALUES (?, 'p', 1, 1, 0, 0)", [(n,) for n in names]
                )
        elif backend == "postgres":
            with ledger._transaction() as conn:  # type: ignore[attr-defined]
                conn.execute("DELETE FROM meta")
                for name in names:
                    conn.execute("INSERT INTO counters VALUES (%s, 'p', 1, 1, 0, 0)", (name,))
        else:
            client = ledger._redis  # type: ignore[attr-defined]
            namespace = ledger.namespace  # type: ignore[attr-defined]
            client.delete(f"{namespace}:meta")
            for name in names:
                client.hset(
                    f"{namespace}:c:{name}",
                    mapping={"initial": 1, "available": 1, "held": 0, "used": 0},
                )
                client.sadd(f"{namespace}:counters", name)


@pytest.mark.parametrize("backend", ["sqlite", "postgres", "redis"])
def test_an_old_ledger_whose_keys_read_the_same_is_used_as_it_is(
    backend: str, tmp_path: Path
) -> None:
    url = fresh_url(backend, tmp_path)
    old = ["flash_customer_units:f:alice/sku-1", "coupon_customer_uses:c:*", "budget:c10:"]
    plant_old_keys(url, backend, old)
    try:
        with open_ledger(url) as ledger:
            keys = {r.key for r in ledger.status()}
            assert CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, "f", ("alice", "sku-1")) in keys
            assert CounterKey(CounterKind.BUDGET, "c10") in keys
            assert ledger._meta_get("key_format") == "2"
    finally:
        with open_ledger(url) as ledger:
            ledger.destroy()


@pytest.mark.parametrize("backend", ["sqlite", "postgres", "redis"])
def test_an_old_ledger_whose_keys_would_misread_is_refused(backend: str, tmp_path: Path) -> None:
    url = fresh_url(backend, tmp_path)
    plant_old_keys(url, backend, ["budget:d11:flash:", "flash_stock:f:a/b", "budget:50%off:"])
    try:
        with pytest.raises(LedgerFormatError, match="3 of its keys") as caught:
            open_ledger(url)
        assert "budget:d11:flash:" in str(caught.value)
        assert not isinstance(caught.value, RetryableLedgerError)
    finally:
        if backend == "sqlite":
            Path(url.removeprefix("sqlite:///")).unlink()
        elif backend == "postgres":
            import psycopg

            with psycopg.connect(server_url("postgres"), autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {url.rsplit('=', 1)[1]} CASCADE")
        else:
            import redis

            client = redis.Redis.from_url(server_url("redis"))
            prefix = url.rsplit("=", 1)[1]
            keys = list(client.scan_iter(match=f"{prefix}:*"))
            if keys:
                client.delete(*keys)


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [
        ("OOM command not allowed when used memory > 'maxmemory'.", True),
        ("BUSY Redis is busy running a script.", True),
        ("ERR Error running script: attempt to compare nil with number", False),
        ("WRONGTYPE Operation against a key holding the wrong kind of value", False),
    ],
)
def test_redis_error_replies_by_what_a_retry_changes(reply: str, retryable: bool) -> None:
    redis = pytest.importorskip("redis")
    from promorules.ledger.redis import _translated

    with pytest.raises(BackendUnavailable if retryable else BackendError), _translated():
        raise redis.exceptions.ResponseError(reply)


def test_a_redis_hold_made_before_string_amounts_still_moves(tmp_path: Path) -> None:
    url = fresh_url("redis", tmp_path)
    ledger = open_ledger(url)
    try:
        ledger.provision([CounterSpec(FLASH, 5)])
        ledger.reserve(((FLASH, 2),), "old-hold", 60)
        ledger.reserve(((FLASH, 1),), "old-cancel", 60)
        client = ledger._redis  # type: ignore[attr-defined]
        for key in ("old-hold", "old-cancel"):  # as the previous version stored them
            client.hdel(f"{ledger.namespace}:r:{key}", "moves")  # type: ignore[attr-defined]
        ledger.commit("old-hold")
        ledger.release("old-cancel")
        row = ledger.status()[0]
        assert (row.initial, row.held, row.used, row.available) == (5, 0, 2, 3)
    finally:
        ledger.destroy()


def test_a_postgres_schema_from_before_the_audit_log_gets_it(tmp_path: Path) -> None:
    url = fresh_url("postgres", tmp_path)
    with open_ledger(url) as ledger:
        ledger.provision([CounterSpec(FLASH, 5)])
        with ledger._transaction() as conn:  # type: ignore[attr-defined]
            conn.execute("DROP TABLE log")
            conn.execute("DROP TABLE meta")
    ledger = open_ledger(url)
    try:
        ledger.pause("flash")
        assert [e.action.value for e in ledger.log()] == ["pause"]
        assert ledger.exists(FLASH)
    finally:
        ledger.destroy()


def test_a_postgres_schema_from_before_refunds_gets_them(tmp_path: Path) -> None:
    url = fresh_url("postgres", tmp_path)
    with open_ledger(url) as ledger:
        ledger.provision([CounterSpec(FLASH, 5)])
        with ledger._transaction() as conn:  # type: ignore[attr-defined]
            conn.execute("DROP TABLE refunds")
    ledger = open_ledger(url)
    try:
        assert ledger.refunds() == []
        assert ledger.exists(FLASH)
    finally:
        ledger.destroy()


def test_a_postgres_ledger_from_before_the_batch_function_gets_it(tmp_path: Path) -> None:
    from promorules.ledger import postgres_batch

    url = fresh_url("postgres", tmp_path)
    with open_ledger(url) as ledger:
        ledger.provision([CounterSpec(FLASH, 5)])
        ledger.reserve(((FLASH, 1),), "before", 60)
        with ledger._transaction() as conn:  # type: ignore[attr-defined]
            conn.execute(f"DROP FUNCTION {postgres_batch.NAME}")
    ledger = open_ledger(url)
    try:
        ledger.commit(ledger.reserve(((FLASH, 2),), "after", 60))
        assert ledger.commit("before").state.value == "committed"
        row = ledger.status()[0]
        assert (row.held, row.used, row.available) == (0, 3, 2)
    finally:
        ledger.destroy()
