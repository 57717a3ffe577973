"""The PostgreSQL ledger, for many checkout processes on many machines.

Why it cannot oversell: a reserve (a batch of reserves, commits and releases: one call
of the server-side function of ``postgres_batch``, one round trip) runs in one
transaction that

1. records the idempotency key first (``INSERT ... ON CONFLICT DO NOTHING``): a second
   call with the same key waits on the unique index until the first commits or rolls
   back, so one key can never take stock twice;
2. locks every counter it needs with ``SELECT ... ORDER BY key FOR UPDATE``. Locks are
   always taken in key order (commit, release and sweep do the same), so two checkouts
   wanting the same counters queue instead of deadlocking;
3. checks them all under those locks, then applies one guarded ``UPDATE ... WHERE
   available >= n`` whose row count must match; the table's CHECK constraints
   (non-negative figures, ``initial = available + held + used``) are the last line.

A lock wait beyond ``lock_timeout`` and a deadlock (should one ever happen) raise
ContentionError; a lost connection raises BackendUnavailable: never a silent success.
Per-subject counters are created from their template inside the reserve, in key order
with the locks, so a refused reserve leaves no trace.

URL: ``postgresql://user:password@host:port/db?namespace=SCHEMA&pool=N&lock_timeout=MS``
and ``synchronous_commit=off`` to trade the durability of the last few hundred
milliseconds (on a server crash, not a client one) for commits that do not wait on the
WAL flush; ``namespace`` (default ``promorules``) is the schema holding the tables.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import psycopg.errors

from promorules.counters import CounterKey, CounterSpec
from promorules.ledger import postgres_batch as batch
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
    decide_refund,
    decode,
    encode,
    pause_entry,
    provision_entry,
    refund_entries,
    replayed_refund,
)
from promorules.ledger.errors import (
    BackendError,
    BackendUnavailable,
    ContentionError,
    InsufficientError,
    InvalidRequest,
    LedgerError,
    Shortfall,
    UnknownCounter,
)
from promorules.ledger.pool import Pool

SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    key text PRIMARY KEY,
    promotion text NOT NULL,
    initial bigint NOT NULL,
    available bigint NOT NULL CHECK (available >= 0),
    held bigint NOT NULL CHECK (held >= 0),
    used bigint NOT NULL CHECK (used >= 0),
    CHECK (initial = available + held + used)
);
CREATE INDEX IF NOT EXISTS counters_promotion ON counters (promotion);
CREATE TABLE IF NOT EXISTS reservations (
    key text PRIMARY KEY,
    consumption text NOT NULL,
    state text NOT NULL,
    created_at double precision NOT NULL,
    expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS reservations_due ON reservations (expires_at)
    WHERE state = 'held';
CREATE TABLE IF NOT EXISTS paused (promotion text PRIMARY KEY);
CREATE TABLE IF NOT EXISTS meta (name text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS log (seq bigserial PRIMARY KEY, entry text NOT NULL);
-- a ledger made before the audit log or refunds existed gets what it lacks on its next
-- open (the probe in _create_schema looks for every table of TABLES).
CREATE TABLE IF NOT EXISTS refunds (
    id text PRIMARY KEY,
    reservation text NOT NULL,
    consumption text NOT NULL,
    at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS refunds_reservation ON refunds (reservation);
"""

TABLES = ("counters", "reservations", "paused", "meta", "log", "refunds")
"""Every table of SCHEMA: a namespace lacking any of them is brought up to date."""

NAMESPACE = re.compile(r"^[a-z_][a-z0-9_]{0,62}\Z")
SWEEP_BATCH = 500
OWN_OPTIONS = ("namespace", "pool", "lock_timeout", "synchronous_commit")
Conn = psycopg.Connection[tuple[Any, ...]]


class PostgresLedger(Ledger):
    def __init__(
        self,
        conninfo: str,
        clock: Clock = time.time,
        *,
        namespace: str = "promorules",
        pool: int = 10,
        lock_timeout_ms: int = 10_000,
        synchronous_commit: str = "on",
    ) -> None:
        super().__init__(clock)
        if not NAMESPACE.match(namespace):
            raise InvalidRequest(f"namespace must be a lower-case SQL identifier: {namespace!r}")
        self._check_settings(pool, lock_timeout_ms)
        self.namespace = namespace
        self.url = conninfo
        self._conninfo = conninfo
        if synchronous_commit not in ("on", "off", "local", "remote_write", "remote_apply"):
            raise InvalidRequest(f"bad synchronous_commit: {synchronous_commit!r}")
        self._options = (
            f"-c search_path={namespace} -c lock_timeout={int(lock_timeout_ms)}"
            f" -c synchronous_commit={synchronous_commit}"
        )
        self._pool: Pool[Conn] = Pool(self._connect, _close, _healthy, pool)
        self._call = batch.CALL
        self._create_schema()
        self._settle_key_format()

    def _create_schema(self) -> None:
        """Create the tables and the batch function unless they exist.

        Checked first because ``CREATE INDEX IF NOT EXISTS`` locks its table even when
        the index exists, which would deadlock against live checkouts: a ledger that
        has every table but not this version's batch function gets the function alone.
        Many processes may open a fresh namespace at once and DDL "IF NOT EXISTS" (or
        "OR REPLACE") is not race-free in PostgreSQL, so creation is serialised by an
        advisory lock.
        """
        probe = (
            "SELECT "
            + " AND ".join(
                f"to_regclass('{self.namespace}.{table}') IS NOT NULL" for table in TABLES
            )
            + f", to_regprocedure('{self.namespace}.{batch.SIGNATURE}') IS NOT NULL"
        )
        with self._transaction() as conn:
            found = conn.execute(probe).fetchone()
            if found is not None and found[0] and found[1]:
                return
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"promorules:{self.namespace}",)
            )
            found = conn.execute(probe).fetchone()
            assert found is not None
            if not found[0]:
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.namespace}")
                conn.execute(SCHEMA)
            if not found[1]:
                conn.execute(batch.create_function(self.namespace))

    @classmethod
    def from_url(cls, url: str, clock: Clock = time.time) -> PostgresLedger:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        check_options("postgresql", query, (*OWN_OPTIONS, *_libpq_options()))
        namespace = query.pop("namespace", "promorules")
        pool = query.pop("pool", "10")
        lock_timeout = query.pop("lock_timeout", "10000")
        synchronous_commit = query.pop("synchronous_commit", "on")
        conninfo = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query)))
        try:
            return cls(
                conninfo,
                clock,
                namespace=namespace,
                pool=int(pool),
                lock_timeout_ms=int(lock_timeout),
                synchronous_commit=synchronous_commit,
            )
        except ValueError as exc:
            raise InvalidRequest(f"bad postgresql URL option: {exc}") from exc

    def _check_settings(self, pool: int, lock_timeout_ms: int) -> None:
        if not 1 <= pool <= 1_000:
            raise InvalidRequest(f"postgresql pool is 1 to 1000 connections, got {pool}")
        if not 0 <= lock_timeout_ms <= 2**31 - 1:
            raise InvalidRequest(
                f"postgresql lock_timeout is 0 to 2^31-1 ms, got {lock_timeout_ms}"
            )

    # -- connections ------------------------------------------------------------------

    def _connect(self) -> Conn:
        with _translated():
            return psycopg.connect(
                self._conninfo, autocommit=True, options=self._options, connect_timeout=10
            )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Conn]:
        with _translated(), self._pool.connection() as conn, conn.transaction():
            yield conn

    def close(self) -> None:
        self._pool.close()

    def destroy(self) -> None:
        with self._transaction() as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {self.namespace} CASCADE")
        self.close()

    # -- primitives -------------------------------------------------------------------

    def _provision(self, specs: Sequence[CounterSpec], head: str) -> ProvisionResult:
        created, unchanged, differing = [], [], []
        with self._transaction() as conn:
            for key, initial in specs:
                row = conn.execute(
                    "INSERT INTO counters VALUES (%s, %s, %s, %s, 0, 0)"
                    " ON CONFLICT (key) DO NOTHING RETURNING key",
                    (str(key), key.promotion, initial, initial),
                ).fetchone()
                if row is not None:
                    created.append(key)
                    continue
                found = conn.execute(
                    "SELECT initial FROM counters WHERE key = %s", (str(key),)
                ).fetchone()
                assert found is not None
                if found[0] == initial:
                    unchanged.append(key)
                else:
                    differing.append((key, int(found[0]), initial))
            if created:
                made = {str(k): n for k, n in specs if k in set(created)}
                conn.execute(_INSERT_LOG, (provision_entry(head, made),))
        return ProvisionResult(tuple(created), tuple(unchanged), tuple(differing))

    def _availability(
        self, keys: Sequence[CounterKey] | None
    ) -> tuple[dict[CounterKey, int], frozenset[str]]:
        # REPEATABLE READ: the counters and the paused set come from one snapshot.
        with (
            _translated(),
            self._pool.connection() as conn,
            conn.transaction(),
        ):
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            if keys is None:
                rows = conn.execute("SELECT key, available FROM counters").fetchall()
            elif keys:
                names = sorted({str(k) for key in keys for k in (key, key.template())})
                rows = conn.execute(
                    "SELECT key, available FROM counters WHERE key = ANY(%s)", (names,)
                ).fetchall()
            else:
                rows = []
            paused = conn.execute("SELECT promotion FROM paused").fetchall()
        return {CounterKey.parse(k): int(n) for k, n in rows}, frozenset(p for (p,) in paused)

    def _reserve_many(self, holds: Sequence[Hold]) -> list[Outcome]:
        return self._apply_many(holds, ())[0]

    def _transition_many(self, steps: Sequence[Step]) -> list[Outcome]:
        return self._apply_many((), steps)[1]

    def _apply_many(
        self, holds: Sequence[Hold], steps: Sequence[Step]
    ) -> tuple[list[Outcome], list[Outcome]]:
        """A batch in one round trip: one call of the batch function, its own transaction.

        The connection is in autocommit, so the ``SELECT`` is the transaction: no BEGIN
        or COMMIT of its own to wait for (``promorules.ledger.postgres_batch``).
        """
        arguments = batch.arguments(holds, steps)
        with _translated(), self._pool.connection() as conn:
            rows = conn.execute(self._call, arguments).fetchall()
        return batch.outcomes(holds, steps, rows)

    def _update(
        self, conn: Conn, taken: dict[str, int], used: dict[str, int], back: dict[str, int]
    ) -> None:
        """Apply a batch's moves in one guarded statement; the counters are locked."""
        names = sorted({*taken, *used, *back})
        if not names:
            return
        done = conn.execute(
            "UPDATE counters SET available = available - x.t + x.b,"
            " held = held + x.t - x.u - x.b, used = used + x.u"
            " FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::bigint[])"
            " AS x(key, t, u, b)"
            " WHERE counters.key = x.key AND counters.available >= x.t"
            " AND counters.held + x.t >= x.u + x.b",
            (
                names,
                [taken.get(n, 0) for n in names],
                [used.get(n, 0) for n in names],
                [back.get(n, 0) for n in names],
            ),
        ).rowcount
        if done != len(names):
            raise LedgerError("a guarded update missed counters held under lock")

    def _get(self, idempotency_key: str) -> Reservation | None:
        with self._transaction() as conn:
            seen = conn.execute(_SELECT_RESERVATION, (idempotency_key,)).fetchone()
        return None if seen is None else _reservation(seen)

    def _refund(self, give: GiveBack) -> Refunded:
        """One transaction: the reservation's row locked (refunds of one reservation queue
        on it), its earlier refunds read under that lock, the counters locked in key order
        and moved by one guarded statement, the refund and its log entries written."""
        with self._transaction() as conn:
            seen = conn.execute(f"{_SELECT_RESERVATION} FOR UPDATE", (give.reservation,)).fetchone()
            # read under the lock: a replay waits for the first try and then sees it
            stored = conn.execute(f"{_SELECT_REFUNDS} WHERE id = %s", (give.refund_id,)).fetchone()
            if stored is not None:
                return replayed_refund(give, _refunded(stored))
            earlier = conn.execute(
                f"{_SELECT_REFUNDS} WHERE reservation = %s", (give.reservation,)
            ).fetchall()
            before = add_up(*(_refunded(r).consumption for r in earlier))
            moves = decide_refund(give, None if seen is None else _reservation(seen), before)
            names = [str(k) for k, _ in moves]  # sorted by key: the lock order
            if names:
                conn.execute(
                    "SELECT 1 FROM counters WHERE key = ANY(%s) ORDER BY key FOR UPDATE", (names,)
                )
                done = conn.execute(
                    "UPDATE counters SET used = used - x.n, available = available + x.n"
                    " FROM unnest(%s::text[], %s::bigint[]) AS x(key, n)"
                    " WHERE counters.key = x.key AND counters.used >= x.n",
                    (names, [n for _, n in moves]),
                ).rowcount
                if done != len(names):
                    raise LedgerError("a guarded refund missed counters held under lock")
            made = conn.execute(
                "INSERT INTO refunds VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO NOTHING"
                " RETURNING id",
                (give.refund_id, give.reservation, encode(moves), give.now),
            ).fetchone()
            if made is None:
                # the same id, made meanwhile by a refund of another reservation (one of
                # the same reservation queues on its lock, then replays): nothing is kept
                raise ContentionError(f"refund {give.refund_id!r} was being made concurrently")
            for entry in refund_entries(give, before, moves):
                conn.execute(_INSERT_LOG, (entry,))
        return Refunded(give.refund_id, give.reservation, moves, give.now)

    def _refunds(self, reservation: str | None) -> Iterable[Refunded]:
        with self._transaction() as conn:
            if reservation is None:
                rows = conn.execute(_SELECT_REFUNDS).fetchall()
            else:
                rows = conn.execute(
                    f"{_SELECT_REFUNDS} WHERE reservation = %s", (reservation,)
                ).fetchall()
        return [_refunded(r) for r in rows]

    def _sweep(self, now: float) -> int:
        total = 0
        while True:
            with self._transaction() as conn:
                # SKIP LOCKED: a reservation being committed right now is not overdue
                # business of ours; the commit itself decides about its expiry.
                due = conn.execute(
                    "SELECT key, consumption FROM reservations"
                    " WHERE state = 'held' AND expires_at <= %s"
                    " ORDER BY key LIMIT %s FOR UPDATE SKIP LOCKED",
                    (now, SWEEP_BATCH),
                ).fetchall()
                amounts: dict[str, int] = defaultdict(int)
                for _, text in due:
                    for counter, amount in decode(text):
                        amounts[str(counter)] += amount
                names = sorted(amounts)
                if names:
                    conn.execute(
                        "SELECT 1 FROM counters WHERE key = ANY(%s) ORDER BY key FOR UPDATE",
                        (names,),
                    )
                self._update(conn, {}, {}, amounts)
                conn.execute(
                    "UPDATE reservations SET state = 'expired' WHERE key = ANY(%s)",
                    ([k for k, _ in due],),
                )
            total += len(due)
            if len(due) < SWEEP_BATCH:
                return total

    def _set_paused(self, promotion: str, paused: bool, head: str) -> None:
        with self._transaction() as conn:
            # one pause or resume of a promotion at a time, so "before" is what it changed
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))",
                (f"pause:{self.namespace}:{promotion}",),
            )
            before = conn.execute(
                "SELECT 1 FROM paused WHERE promotion = %s", (promotion,)
            ).fetchone()
            conn.execute(_INSERT_LOG, (pause_entry(head, before is not None, paused),))
            if paused:
                conn.execute("INSERT INTO paused VALUES (%s) ON CONFLICT DO NOTHING", (promotion,))
            else:
                conn.execute("DELETE FROM paused WHERE promotion = %s", (promotion,))

    def _adjust(self, key: CounterKey, delta: int, clamp: bool, head: str) -> CounterRow:
        with self._transaction() as conn:
            seen = conn.execute(f"{_SELECT_ROWS} WHERE key = %s FOR UPDATE", (str(key),)).fetchone()
            if seen is None:
                raise UnknownCounter((key,))
            before = _row(seen)
            applied = adjusted(before.initial, before.available, delta, clamp)
            if applied is None:
                raise InsufficientError((Shortfall(key, -delta, before.available),))
            found = conn.execute(
                "UPDATE counters SET initial = initial + %s, available = available + %s"
                " WHERE key = %s RETURNING key, initial, held, used, available",
                (applied, applied, str(key)),
            ).fetchone()
            assert found is not None
            after = _row(found)
            conn.execute(_INSERT_LOG, (adjust_entry(head, before, after, delta, clamp),))
        return after

    def _status(self, promotion: str | None) -> Iterable[CounterRow]:
        with self._transaction() as conn:
            if promotion is None:
                rows = conn.execute(_SELECT_ROWS).fetchall()
            else:
                rows = conn.execute(f"{_SELECT_ROWS} WHERE promotion = %s", (promotion,)).fetchall()
        return [_row(r) for r in rows]

    def _reservations(self, state: ReservationState | None) -> Iterable[Reservation]:
        with self._transaction() as conn:
            if state is None:
                rows = conn.execute(_SELECT_RESERVATIONS).fetchall()
            else:
                rows = conn.execute(
                    f"{_SELECT_RESERVATIONS} WHERE state = %s", (state.value,)
                ).fetchall()
        return [_reservation(r) for r in rows]

    def _counter_names(self) -> Iterable[str]:
        with self._transaction() as conn:
            return [str(k) for (k,) in conn.execute("SELECT key FROM counters").fetchall()]

    def _meta_get(self, name: str) -> str | None:
        with self._transaction() as conn:
            found = conn.execute("SELECT value FROM meta WHERE name = %s", (name,)).fetchone()
        return None if found is None else str(found[0])

    def _meta_set(self, name: str, value: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO meta VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET value = %s",
                (name, value, value),
            )

    def _read_log(self) -> Iterable[tuple[int, str]]:
        with self._transaction() as conn:
            rows = conn.execute("SELECT seq, entry FROM log ORDER BY seq").fetchall()
        return [(int(n), str(t)) for n, t in rows]


_SELECT_RESERVATIONS = "SELECT key, consumption, state, created_at, expires_at FROM reservations"
_SELECT_RESERVATION = f"{_SELECT_RESERVATIONS} WHERE key = %s"
_SELECT_ROWS = "SELECT key, initial, held, used, available FROM counters"
_SELECT_REFUNDS = "SELECT id, reservation, consumption, at FROM refunds"
_INSERT_LOG = "INSERT INTO log (entry) VALUES (%s)"


def _reservation(row: tuple[Any, ...]) -> Reservation:
    key, text, state, created_at, expires_at = row
    return Reservation(
        str(key), decode(text), ReservationState(state), float(created_at), float(expires_at)
    )


def _refunded(row: tuple[Any, ...]) -> Refunded:
    refund_id, reservation, text, at = row
    return Refunded(str(refund_id), str(reservation), decode(text), float(at))


def _row(row: tuple[Any, ...]) -> CounterRow:
    key, initial, held, used, available = row
    return CounterRow(CounterKey.parse(key), int(initial), int(held), int(used), int(available))


def _close(conn: Conn) -> None:
    conn.close()


def _healthy(conn: Conn) -> bool:
    return not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def _libpq_options() -> list[str]:
    """The connection options libpq knows (sslmode, connect_timeout, ...)."""
    return [o.keyword.decode() for o in psycopg.pq.Conninfo.get_defaults()]


# SQLSTATE classes a retry can change: 08 connection exception, 53 insufficient
# resources, 57 operator intervention (shutdown, cannot connect now), 58 system error.
_UNAVAILABLE_CLASSES = ("08", "53", "57", "58")


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """Turn driver errors into the ledger's typed errors."""
    try:
        yield
    except psycopg.Error as exc:
        raise classify(exc) from exc


def classify(exc: psycopg.Error) -> LedgerError:
    """The ledger error for a driver error, by what a retry with the same input can change.

    Lock waits, deadlocks and serialisation failures (class 40, 55P03, a cancelled
    statement) are contention; a server that did not answer is unavailable; a value the
    server cannot take (class 22: NUL in text, bigint out of range) is an invalid request;
    a missing table, a bad option or a permission (class 42 and the rest) stays broken
    until someone fixes it, so it is a BackendError, never retryable.
    """
    state = exc.sqlstate or ""
    if isinstance(
        exc,
        psycopg.errors.LockNotAvailable
        | psycopg.errors.DeadlockDetected
        | psycopg.errors.SerializationFailure
        | psycopg.errors.QueryCanceled,
    ) or state.startswith("40"):
        return ContentionError(f"postgresql: {exc}")
    if isinstance(exc, psycopg.errors.IntegrityError):
        # CHECK constraints caught what the guards should have: never silent.
        return LedgerError(f"postgresql integrity check failed: {exc}")
    if isinstance(exc, psycopg.DataError) or state.startswith("22"):
        return InvalidRequest(f"postgresql cannot take a value: {exc}")
    if state[:2] in _UNAVAILABLE_CLASSES:
        return BackendUnavailable(f"postgresql: {exc}")
    if not state and isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return BackendUnavailable(f"postgresql: {exc}")  # no server answered at all
    return BackendError(f"postgresql: {exc}")
