"""The embedded ledger: one SQLite file in WAL mode, no server.

Why it cannot oversell: every write runs in ``BEGIN IMMEDIATE``, which takes SQLite's
single write lock *before* the first read, so the check and the update of a reserve
happen with no other writer in between (Python's ``sqlite3`` would otherwise open a
deferred transaction, whose read can go stale before its write). The updates are
guarded as well (``WHERE available >= n``, row count checked) and the table carries
CHECK constraints for non-negative figures and ``initial = available + held + used``,
so even a logic slip fails loudly instead of overselling. The idempotency record is
written in the same transaction as the counters; so is a refund's (the ``refunds`` table,
its id the key), with the earlier refunds of its reservation read under the same lock.

Many processes may open the same file: WAL lets readers run beside the one writer, and
a writer that waits longer than ``timeout`` seconds gets a ContentionError.

URL: ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` with optional
``?timeout=SECONDS&synchronous=full|normal&pool=N``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from promorules.counters import CounterKey, CounterSpec
from promorules.ledger.base import (
    Clock,
    CounterRow,
    GiveBack,
    Hold,
    Ledger,
    Outcome,
    ProvisionResult,
    Refunded,
    Reservation,
    ReservationState,
    Step,
    add_up,
    adjust_entry,
    adjusted,
    check_options,
    decide,
    decide_refund,
    decode,
    encode,
    pause_entry,
    plan_steps,
    provision_entry,
    refund_entries,
    replayed_refund,
    same_payload,
)
from promorules.ledger.errors import (
    BackendError,
    BackendUnavailable,
    ContentionError,
    IdempotencyConflict,
    InsufficientError,
    InvalidRequest,
    LedgerError,
    Shortfall,
    UnknownCounter,
)
from promorules.ledger.pool import Pool

SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    promotion TEXT NOT NULL,
    initial INTEGER NOT NULL,
    available INTEGER NOT NULL CHECK (available >= 0),
    held INTEGER NOT NULL CHECK (held >= 0),
    used INTEGER NOT NULL CHECK (used >= 0),
    CHECK (initial = available + held + used)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reservations (
    key TEXT PRIMARY KEY,
    consumption TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reservations_due ON reservations (expires_at)
    WHERE state = 'held';
CREATE TABLE IF NOT EXISTS refunds (
    id TEXT PRIMARY KEY,
    reservation TEXT NOT NULL,
    consumption TEXT NOT NULL,
    at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refunds_reservation ON refunds (reservation);
CREATE TABLE IF NOT EXISTS paused (promotion TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL);
-- The audit log is append-only: no statement of ours rewrites it, and neither may anyone's.
CREATE TRIGGER IF NOT EXISTS log_no_update BEFORE UPDATE ON log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""

SWEEP_BATCH = 500
OPTIONS = ("timeout", "synchronous", "pool")
MAX_TIMEOUT = 86_400.0
MAX_POOL = 1_000


class SQLiteLedger(Ledger):
    def __init__(
        self,
        path: str,
        clock: Clock = time.time,
        *,
        timeout: float = 10.0,
        synchronous: str = "full",
        pool: int = 8,
    ) -> None:
        super().__init__(clock)
        if synchronous.lower() not in ("full", "normal", "extra"):
            raise InvalidRequest(f"synchronous must be full, normal or extra: {synchronous!r}")
        self.path = path
        self.url = f"sqlite:///{path}"
        self._timeout = timeout
        self._synchronous = synchronous.upper()
        self._pool = Pool(self._connect, _close, _healthy, pool)
        with self._connection() as conn:
            conn.executescript(SCHEMA)
        self._settle_key_format()

    @classmethod
    def from_url(cls, url: str, clock: Clock = time.time) -> SQLiteLedger:
        parts = urlsplit(url)
        prefix = "sqlite:///"
        if not url.startswith(prefix) or not parts.path.strip("/"):
            raise InvalidRequest(f"expected sqlite:///path/to/file.db, got {url!r}")
        path = url[len(prefix) :].split("?", 1)[0]
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        check_options("sqlite", query, OPTIONS)
        try:
            timeout = float(query.get("timeout", 10.0))
            pool = int(query.get("pool", 8))
        except ValueError as exc:
            raise InvalidRequest(f"bad sqlite URL option: {exc}") from exc
        if not 0 <= timeout <= MAX_TIMEOUT:
            raise InvalidRequest(f"sqlite timeout is 0 to {MAX_TIMEOUT} seconds, got {timeout}")
        if not 1 <= pool <= MAX_POOL:
            raise InvalidRequest(f"sqlite pool is 1 to {MAX_POOL} connections, got {pool}")
        return cls(
            path, clock, timeout=timeout, synchronous=query.get("synchronous", "full"), pool=pool
        )

    # -- connections ------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        return conn

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with _translated(), self._pool.connection() as conn:
            yield conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the database write lock from its start."""
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot across several statements."""
        with self._connection() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("COMMIT")

    def close(self) -> None:
        self._pool.close()

    def destroy(self) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM counters")
            conn.execute("DELETE FROM reservations")
            conn.execute("DELETE FROM refunds")
            conn.execute("DELETE FROM paused")
            conn.execute("DELETE FROM log")

    # -- primitives -------------------------------------------------------------------

    def _provision(self, specs: Sequence[CounterSpec], head: str) -> ProvisionResult:
        created, unchanged, differing = [], [], []
        with self._write() as conn:
            for key, initial in specs:
                row = _one(conn, "SELECT initial FROM counters WHERE key = ?", (str(key),))
                if row is None:
                    _run(
                        conn,
                        "INSERT INTO counters VALUES (?, ?, ?, ?, 0, 0)",
                        (str(key), key.promotion, initial, initial),
                    )
                    created.append(key)
                elif row[0] == initial:
                    unchanged.append(key)
                else:
                    differing.append((key, int(row[0]), initial))
            if created:
                made = {str(k): n for k, n in specs if k in set(created)}
                _run(conn, _INSERT_LOG, (provision_entry(head, made),))
        return ProvisionResult(tuple(created), tuple(unchanged), tuple(differing))

    def _availability(
        self, keys: Sequence[CounterKey] | None
    ) -> tuple[dict[CounterKey, int], frozenset[str]]:
        with self._read() as conn:
            if keys is None:
                rows = _all(conn, "SELECT key, available FROM counters", ())
            elif keys:
                names = sorted({str(k) for key in keys for k in (key, key.template())})
                rows = _all(conn, _select_in("key, available", len(names)), names)
            else:
                rows = []
            paused = _all(conn, "SELECT promotion FROM paused", ())
        return {CounterKey.parse(k): int(n) for k, n in rows}, frozenset(p for (p,) in paused)

    # One transaction for a batch: one write lock, one disk flush, and a handful of
    # statements whatever its size. Each order is decided in turn against the counters
    # as the orders before it left them, so a refusal leaves nothing of its order behind.

    def _reserve_many(self, holds: Sequence[Hold]) -> list[Outcome]:
        with self._write() as conn:
            return self._reserve_all(conn, holds)

    def _transition_many(self, steps: Sequence[Step]) -> list[Outcome]:
        with self._write() as conn:
            return self._transition_all(conn, steps)

    def _apply_many(
        self, holds: Sequence[Hold], steps: Sequence[Step]
    ) -> tuple[list[Outcome], list[Outcome]]:
        with self._write() as conn:
            return self._reserve_all(conn, holds), self._transition_all(conn, steps)

    def _reserve_all(self, conn: sqlite3.Connection, holds: Sequence[Hold]) -> list[Outcome]:
        if not holds:
            return []
        seen = {r[0]: r for r in _rows_in(conn, _SELECT_RESERVATIONS, [h.key for h in holds])}
        outcomes: dict[str, Outcome] = {}
        taking = []
        for hold in holds:
            row = seen.get(hold.key)
            if row is None:
                taking.append(hold)
            elif not same_payload(row[1], hold.fingerprint):
                outcomes[hold.key] = IdempotencyConflict(hold.key)
            else:
                outcomes[hold.key] = _reservation(row)
        wanted = {key for hold in taking for key, _ in hold.consumption}
        promotions = sorted({key.promotion for key in wanted})
        paused = {
            p for (p,) in _rows_in(conn, "SELECT promotion FROM paused", promotions, "promotion")
        }
        names = sorted({str(k) for key in wanted for k in (key, key.template())})
        found = {k: int(n) for k, n in _rows_in(conn, "SELECT key, available FROM counters", names)}
        available: dict[str, int] = {}
        instances: dict[str, tuple[str, str, int, int]] = {}
        for key in wanted:
            name = str(key)
            if name in found:
                available[name] = found[name]
            elif (initial := found.get(str(key.template()))) is not None:
                # a template's available is its initial: the counter its subject starts with
                available[name] = initial
                instances[name] = (name, key.promotion, initial, initial)
        taken: dict[str, int] = defaultdict(int)
        records = []
        for hold in taking:
            outcome = decide(hold, paused, available)
            outcomes[hold.key] = outcome
            if isinstance(outcome, Reservation):
                for key, amount in hold.consumption:
                    available[str(key)] -= amount
                    taken[str(key)] += amount
                records.append((hold.key, encode(hold.consumption), hold.now, hold.expires_at))
        conn.executemany(_INSERT_INSTANCE, [instances[n] for n in sorted(taken) if n in instances])
        for name in sorted(taken):
            # Guarded even under the write lock: a slip shows as an error, not an oversell.
            amount = taken[name]
            done = _run(
                conn,
                "UPDATE counters SET available = available - ?, held = held + ?"
                " WHERE key = ? AND available >= ?",
                (amount, amount, name, amount),
            )
            if done != 1:
                raise LedgerError(f"guarded update of {name} failed under the write lock")
        conn.executemany("INSERT INTO reservations VALUES (?, ?, 'held', ?, ?)", records)
        return [outcomes[h.key] for h in holds]

    def _transition_all(self, conn: sqlite3.Connection, steps: Sequence[Step]) -> list[Outcome]:
        if not steps:
            return []
        rows = _rows_in(conn, _SELECT_RESERVATIONS, [s.key for s in steps])
        plan = plan_steps(steps, {r[0]: _reservation(r) for r in rows})
        outcomes, used, back = plan.outcomes, plan.used, plan.back
        states = [(state, key) for key, state in plan.states.items()]
        for name in sorted({*used, *back}):
            u, a = used.get(name, 0), back.get(name, 0)
            done = _run(
                conn,
                "UPDATE counters SET held = held - ?, used = used + ?, available = available + ?"
                " WHERE key = ? AND held >= ?",
                (u + a, u, a, name, u + a),
            )
            if done != 1:
                raise LedgerError(f"counter {name} holds less than its reservations")
        conn.executemany("UPDATE reservations SET state = ? WHERE key = ?", states)
        return [outcomes[s.key] for s in steps]

    def _get(self, idempotency_key: str) -> Reservation | None:
        with self._read() as conn:
            seen = _one(conn, _SELECT_RESERVATION, (idempotency_key,))
        return None if seen is None else _reservation(seen)

    def _refund(self, give: GiveBack) -> Refunded:
        with self._write() as conn:
            stored = _one(conn, f"{_SELECT_REFUNDS} WHERE id = ?", (give.refund_id,))
            if stored is not None:
                return replayed_refund(give, _refunded(stored))
            seen = _one(conn, _SELECT_RESERVATION, (give.reservation,))
            earlier = _all(conn, f"{_SELECT_REFUNDS} WHERE reservation = ?", (give.reservation,))
            before = add_up(*(_refunded(r).consumption for r in earlier))
            moves = decide_refund(give, None if seen is None else _reservation(seen), before)
            for key, amount in moves:
                done = _run(
                    conn,
                    "UPDATE counters SET used = used - ?, available = available + ?"
                    " WHERE key = ? AND used >= ?",
                    (amount, amount, str(key), amount),
                )
                if done != 1:
                    raise LedgerError(f"counter {key} used less than its reservations")
            _run(
                conn,
                "INSERT INTO refunds VALUES (?, ?, ?, ?)",
                (give.refund_id, give.reservation, encode(moves), give.now),
            )
            conn.executemany(_INSERT_LOG, [(e,) for e in refund_entries(give, before, moves)])
        return Refunded(give.refund_id, give.reservation, moves, give.now)

    def _refunds(self, reservation: str | None) -> Iterable[Refunded]:
        with self._read() as conn:
            if reservation is None:
                rows = _all(conn, _SELECT_REFUNDS, ())
            else:
                rows = _all(conn, f"{_SELECT_REFUNDS} WHERE reservation = ?", (reservation,))
        return [_refunded(r) for r in rows]

    def _sweep(self, now: float) -> int:
        total = 0
        while True:
            with self._write() as conn:
                due = _all(
                    conn,
                    "SELECT key, consumption FROM reservations"
                    " WHERE state = 'held' AND expires_at <= ? ORDER BY key LIMIT ?",
                    (now, SWEEP_BATCH),
                )
                amounts: dict[CounterKey, int] = defaultdict(int)
                for _, text in due:
                    for counter, amount in decode(text):
                        amounts[counter] += amount
                for counter, amount in sorted(amounts.items(), key=lambda kv: str(kv[0])):
                    done = _run(
                        conn,
                        "UPDATE counters SET held = held - ?, available = available + ?"
                        " WHERE key = ? AND held >= ?",
                        (amount, amount, str(counter), amount),
                    )
                    if done != 1:
                        raise LedgerError(f"counter {counter} holds less than its reservations")
                conn.executemany(
                    "UPDATE reservations SET state = 'expired' WHERE key = ?",
                    [(k,) for k, _ in due],
                )
            total += len(due)
            if len(due) < SWEEP_BATCH:
                return total

    def _set_paused(self, promotion: str, paused: bool, head: str) -> None:
        with self._write() as conn:
            before = _one(conn, "SELECT 1 FROM paused WHERE promotion = ?", (promotion,))
            _run(conn, _INSERT_LOG, (pause_entry(head, before is not None, paused),))
            if paused:
                _run(conn, "INSERT OR IGNORE INTO paused VALUES (?)", (promotion,))
            else:
                _run(conn, "DELETE FROM paused WHERE promotion = ?", (promotion,))

    def _adjust(self, key: CounterKey, delta: int, clamp: bool, head: str) -> CounterRow:
        with self._write() as conn:
            seen = _one(conn, f"{_SELECT_ROWS} WHERE key = ?", (str(key),))
            if seen is None:
                raise UnknownCounter((key,))
            before = _row(seen)
            applied = adjusted(before.initial, before.available, delta, clamp)
            if applied is None:
                raise InsufficientError((Shortfall(key, -delta, before.available),))
            _run(
                conn,
                "UPDATE counters SET initial = initial + ?, available = available + ?"
                " WHERE key = ?",
                (applied, applied, str(key)),
            )
            found = _one(conn, f"{_SELECT_ROWS} WHERE key = ?", (str(key),))
            assert found is not None
            after = _row(found)
            _run(conn, _INSERT_LOG, (adjust_entry(head, before, after, delta, clamp),))
        return after

    def _status(self, promotion: str | None) -> Iterable[CounterRow]:
        with self._read() as conn:
            if promotion is None:
                rows = _all(conn, _SELECT_ROWS, ())
            else:
                rows = _all(conn, f"{_SELECT_ROWS} WHERE promotion = ?", (promotion,))
        return [_row(r) for r in rows]

    def _reservations(self, state: ReservationState | None) -> Iterable[Reservation]:
        with self._read() as conn:
            if state is None:
                rows = _all(conn, _SELECT_RESERVATIONS, ())
            else:
                rows = _all(conn, f"{_SELECT_RESERVATIONS} WHERE state = ?", (state.value,))
        return [_reservation(r) for r in rows]

    def _counter_names(self) -> Iterable[str]:
        with self._read() as conn:
            return [str(k) for (k,) in _all(conn, "SELECT key FROM counters", ())]

    def _meta_get(self, name: str) -> str | None:
        with self._read() as conn:
            found = _one(conn, "SELECT value FROM meta WHERE name = ?", (name,))
        return None if found is None else str(found[0])

    def _meta_set(self, name: str, value: str) -> None:
        with self._write() as conn:
            _run(conn, "INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    def _read_log(self) -> Iterable[tuple[int, str]]:
        with self._read() as conn:
            return [
                (int(n), str(t))
                for n, t in _all(conn, "SELECT seq, entry FROM log ORDER BY seq", ())
            ]


_SELECT_RESERVATIONS = "SELECT key, consumption, state, created_at, expires_at FROM reservations"
_SELECT_RESERVATION = f"{_SELECT_RESERVATIONS} WHERE key = ?"
_SELECT_ROWS = "SELECT key, initial, held, used, available FROM counters"
_SELECT_REFUNDS = "SELECT id, reservation, consumption, at FROM refunds"
_INSERT_INSTANCE = "INSERT INTO counters VALUES (?, ?, ?, ?, 0, 0)"
_INSERT_LOG = "INSERT INTO log (entry) VALUES (?)"

Row = tuple[Any, ...]  # what the driver returns; typed by the helpers below
Params = Sequence[object]


CHUNK = 500  # values per IN list, well under SQLite's limit on bound parameters


def _rows_in(
    conn: sqlite3.Connection, select: str, values: Sequence[str], column: str = "key"
) -> list[Row]:
    """``select`` with ``WHERE column IN (values)``, as many statements as the values need."""
    rows: list[Row] = []
    for at in range(0, len(values), CHUNK):
        part = values[at : at + CHUNK]
        rows += _all(conn, f"{select} WHERE {column} IN ({','.join('?' * len(part))})", part)
    return rows


def _select_in(columns: str, count: int) -> str:
    return f"SELECT {columns} FROM counters WHERE key IN ({','.join('?' * count)})"


def _reservation(row: Row) -> Reservation:
    key, text, state, created_at, expires_at = row
    assert isinstance(key, str) and isinstance(text, str) and isinstance(state, str)
    assert isinstance(created_at, float) and isinstance(expires_at, float)
    return Reservation(key, decode(text), ReservationState(state), created_at, expires_at)


def _refunded(row: Row) -> Refunded:
    refund_id, reservation, text, at = row
    return Refunded(str(refund_id), str(reservation), decode(text), float(at))


def _row(row: Row) -> CounterRow:
    key, initial, held, used, available = row
    assert isinstance(key, str)
    assert isinstance(initial, int) and isinstance(held, int)
    assert isinstance(used, int) and isinstance(available, int)
    return CounterRow(CounterKey.parse(key), initial, held, used, available)


def _close(conn: sqlite3.Connection) -> None:
    conn.close()


def _healthy(conn: sqlite3.Connection) -> bool:
    try:
        return not conn.in_transaction
    except sqlite3.Error:
        return False


# What a retry can change: another writer letting go of the lock, or a disk that was
# full or failing for a moment. Everything else (no such table, not a database, a
# read-only file, a directory that does not exist) stays until someone fixes it.
_CONTENTION = ("locked", "busy")
_TRANSIENT = ("disk i/o error", "database or disk is full", "interrupted")


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """Turn sqlite3 errors into the ledger's typed errors, by what a retry can change."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc).lower()
        if any(word in text for word in _CONTENTION):
            raise ContentionError(f"sqlite: {exc}") from exc
        if any(word in text for word in _TRANSIENT):
            raise BackendUnavailable(f"sqlite: {exc}") from exc
        raise BackendError(f"sqlite: {exc}") from exc
    except sqlite3.IntegrityError as exc:
        # The CHECK constraints caught what the guards should have: never silent.
        raise LedgerError(f"sqlite integrity check failed: {exc}") from exc
    except (sqlite3.DataError, OverflowError) as exc:
        raise InvalidRequest(f"sqlite cannot store a value: {exc}") from exc
    except sqlite3.Error as exc:
        raise BackendError(f"sqlite: {exc}") from exc


def _run(conn: sqlite3.Connection, sql: str, params: Params) -> int:
    """Execute one statement; returns the number of rows it changed."""
    return conn.execute(sql, params).rowcount


def _one(conn: sqlite3.Connection, sql: str, params: Params) -> Row | None:
    found: Row | None = conn.execute(sql, params).fetchone()
    return found


def _all(conn: sqlite3.Connection, sql: str, params: Params) -> list[Row]:
    return conn.execute(sql, params).fetchall()
