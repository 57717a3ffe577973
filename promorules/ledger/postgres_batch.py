"""A batch of reserves, commits and releases in one PostgreSQL round trip.

The PostgreSQL ledger hands a whole batch to one server-side function (PL/pgSQL, made
with the schema) in one ``SELECT``: one statement, one implicit transaction, one WAL
flush, whatever the batch's size. The function takes the batch as parallel arrays and
returns one row per order, in order; this module builds those arrays and reads the rows
back into outcomes. Inside, the function keeps the locking discipline of every other
writer of the ledger: locks are taken in phases, each in key order (new reservation
rows, the reservations to move, per-subject counters being created, then every counter
the batch changes), so no transaction waits for a lock while holding one that a waiter
of its own phase needs.

Decisions are the ledger's, order by order and in order: a reserve is refused when a
promotion of its counters is paused, then when a counter is unknown, then when one is
short; otherwise it takes its amounts from what the orders before it left. A key already
used returns its stored row (the caller tells a replay from a conflict). Commits and
releases follow the state machine of ``base.plan_transition``, which is read from there
into the function's text, not restated: the function's name carries a digest of its
text, so a ledger opened by a newer promorules gets the newer function beside the old.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from typing import Any

from promorules.counters import Consumption
from promorules.ledger.base import (
    Hold,
    Outcome,
    Reservation,
    ReservationState,
    Step,
    decode,
    encode,
    plan_transition,
    same_payload,
    verb,
)
from promorules.ledger.errors import (
    IdempotencyConflict,
    InsufficientError,
    PromotionPaused,
    ReservationClosed,
    Shortfall,
    UnknownCounter,
    UnknownReservation,
)

GUARD_STATE = "PRL01"
"""SQLSTATE the function raises when a guarded update misses a counter it holds locked."""

_TARGETS = (ReservationState.COMMITTED, ReservationState.RELEASED)


def _transitions() -> str:
    """``plan_transition`` as a SQL CASE over ``state:target:overdue`` (columns of ``d``)."""
    arms = []
    for state in ReservationState:
        for target in _TARGETS:
            for overdue in (False, True):
                # overdue is ``now >= expires_at``, as plan_transition reads it
                move = plan_transition(state, 1.0, target, 1.0 if overdue else 0.0)
                flag = "t" if overdue else "f"
                arms.append(f"WHEN '{state.value}:{target.value}:{flag}' THEN '{move.value}'")
    return "CASE d.st || ':' || d.tg || ':' || d.late " + " ".join(arms) + " END"


# One row per order: holds first, then steps, each in the order given. ``code``:
#   holds  H held now; R its key was used before (the stored row follows); P paused
#          (names: the paused promotions); U a counter unknown, S a counter short
#          (have: each counter's available, NULL when unknown, in consumption order);
#   steps  K kept as it was, A moved (state: the new one); E expired now; C closed the
#          other way (state: as found); N no such reservation.
# A batch in which every new order can be taken as asked (no promotion paused, every
# counter there and enough in it for all of them: a flash sale until it sells out) is
# decided set-wise; any other goes order by order through the loop.
_BODY = """
CREATE OR REPLACE FUNCTION {ns}.{name}(
    h_key text[], h_text text[], h_now float8[], h_expires float8[],
    c_hold int[], c_name text[], c_amount bigint[], c_promotion text[], c_template text[],
    s_key text[], s_target text[], s_now float8[]
) RETURNS TABLE (
    code text, have bigint[], names text[], state text, consumption text,
    created float8, expires float8
) LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $fn$
DECLARE
    n_h int := cardinality(h_key);
    n_c int := cardinality(c_name);
    fresh boolean[];
    replays boolean := false;
    o_state text[]; o_text text[]; o_created float8[]; o_expires float8[];
    s_code text[]; s_state text[]; s_text text[]; s_created float8[]; s_expires float8[];
    moved text[] := '{}'; moved_to text[] := '{}';
    m_name text[] := '{}'; m_used bigint[]; m_back bigint[];
    stopped text[]; made text[] := '{}'; refused text[] := '{}';
    cn text[]; ca bigint[]; ct bigint[]; cu bigint[]; cb bigint[];
    c_idx int[];
    easy boolean;
    i int; j int := 1; k int; first int; lost boolean; short boolean;
    touched int; needed int;
BEGIN
    IF n_h > 0 THEN
        WITH ins AS (
            INSERT INTO {ns}.reservations
            SELECT x.k, x.c, 'held', x.n, x.e
            FROM unnest(h_key, h_text, h_now, h_expires) AS x(k, c, n, e)
            ORDER BY x.k ON CONFLICT (key) DO NOTHING RETURNING key
        )
        SELECT array_agg(ins.key IS NOT NULL ORDER BY u.o) INTO fresh
        FROM unnest(h_key) WITH ORDINALITY AS u(k, o) LEFT JOIN ins ON ins.key = u.k;
        replays := false = ANY(fresh);
        IF replays THEN
            SELECT array_agg(v.state ORDER BY u.o), array_agg(v.consumption ORDER BY u.o),
                   array_agg(v.created_at ORDER BY u.o), array_agg(v.expires_at ORDER BY u.o),
                   count(*) FILTER (WHERE NOT u.f AND v.key IS NULL)
            INTO o_state, o_text, o_created, o_expires, needed
            FROM unnest(h_key, fresh) WITH ORDINALITY AS u(k, f, o)
            LEFT JOIN {ns}.reservations v ON v.key = u.k AND NOT u.f;
            IF needed > 0 THEN
                RAISE EXCEPTION 'a reservation changed under the reserve'
                    USING ERRCODE = 'serialization_failure';
            END IF;
        END IF;
    END IF;

    IF cardinality(s_key) > 0 THEN
        PERFORM 1 FROM {ns}.reservations WHERE key = ANY(s_key) ORDER BY key FOR UPDATE;
        WITH d AS (
            SELECT u.o, u.k, u.tg, v.state AS st, v.consumption AS txt,
                   v.created_at AS cr, v.expires_at AS ex,
                   CASE WHEN u.n >= v.expires_at THEN 't' ELSE 'f' END AS late
            FROM unnest(s_key, s_target, s_now) WITH ORDINALITY AS u(k, tg, n, o)
            LEFT JOIN {ns}.reservations v ON v.key = u.k
        ), e AS (
            SELECT d.o, d.k, d.txt, d.cr, d.ex,
                   CASE WHEN d.st IS NULL THEN 'N' WHEN p.plan = 'keep' THEN 'K'
                        WHEN p.plan = 'refuse' THEN 'C' WHEN p.plan = 'apply' THEN 'A'
                        ELSE 'E' END AS code,
                   CASE WHEN p.plan = 'apply' THEN d.tg WHEN p.plan = 'expire' THEN 'expired'
                        ELSE d.st END AS st
            FROM d, LATERAL (SELECT {transitions} AS plan) AS p
        ), m AS (
            SELECT x->>0 AS n,
                   sum(CASE WHEN e.st = 'committed' THEN (x->>1)::bigint ELSE 0 END) AS u,
                   sum(CASE WHEN e.st = 'committed' THEN 0 ELSE (x->>1)::bigint END) AS b
            FROM e, json_array_elements(e.txt::json) AS x
            WHERE e.code IN ('A', 'E') GROUP BY 1
        )
        SELECT array_agg(e.code ORDER BY e.o), array_agg(e.st ORDER BY e.o),
               array_agg(e.txt ORDER BY e.o), array_agg(e.cr ORDER BY e.o),
               array_agg(e.ex ORDER BY e.o),
               coalesce(array_agg(e.k) FILTER (WHERE e.code IN ('A', 'E')), '{}'),
               coalesce(array_agg(e.st) FILTER (WHERE e.code IN ('A', 'E')), '{}'),
               (SELECT coalesce(array_agg(m.n ORDER BY m.n), '{}') FROM m),
               (SELECT array_agg(m.u ORDER BY m.n) FROM m),
               (SELECT array_agg(m.b ORDER BY m.n) FROM m)
        INTO s_code, s_state, s_text, s_created, s_expires, moved, moved_to,
             m_name, m_used, m_back
        FROM e;
    END IF;

    IF n_c > 0 THEN
        -- first use of a per-subject counter: made from its template before any lock
        -- on counters is taken; removed again below if no order took from it
        WITH ins AS (
            INSERT INTO {ns}.counters
            SELECT m.n, t.promotion, t.initial, t.initial, 0, 0
            FROM (
                SELECT DISTINCT c.n, c.t FROM unnest(c_name, c_template, c_hold) AS c(n, t, h)
                WHERE fresh[c.h]
            ) AS m JOIN {ns}.counters t ON t.key = m.t
            WHERE NOT EXISTS (SELECT 1 FROM {ns}.counters WHERE key = m.n)
            ORDER BY m.n ON CONFLICT (key) DO NOTHING RETURNING key
        )
        SELECT coalesce(array_agg(key), '{}') INTO made FROM ins;
    END IF;

    SELECT coalesce(array_agg(l.key ORDER BY l.key), '{}'), array_agg(l.available ORDER BY l.key),
           (SELECT coalesce(array_agg(promotion), '{}') FROM {ns}.paused
            WHERE promotion = ANY(c_promotion))
    INTO cn, ca, stopped
    FROM (
        SELECT key, available FROM {ns}.counters WHERE key = ANY(c_name || m_name)
        ORDER BY key FOR UPDATE
    ) AS l;
    -- per counter locked: what the new orders ask (all of them), what the steps move;
    -- easy when each has enough for all and no new order names an unknown counter
    SELECT coalesce(array_agg(coalesce(d.t, 0) ORDER BY x.i) FILTER (WHERE x.n IS NOT NULL), '{}'),
           coalesce(bool_and(x.n IS NOT NULL AND ca[x.i] >= coalesce(d.t, 0)), true),
           coalesce(array_agg(coalesce(s.u, 0) ORDER BY x.i) FILTER (WHERE x.n IS NOT NULL), '{}'),
           coalesce(array_agg(coalesce(s.b, 0) ORDER BY x.i) FILTER (WHERE x.n IS NOT NULL), '{}'),
           count(s.n),
           count(*) FILTER (WHERE d.t > 0 OR s.u > 0 OR s.b > 0)
    INTO ct, easy, cu, cb, touched, needed
    FROM unnest(cn) WITH ORDINALITY AS x(n, i)
    FULL JOIN (
        SELECT e.n, sum(e.a) AS t FROM unnest(c_name, c_amount, c_hold) AS e(n, a, h)
        WHERE fresh[e.h] GROUP BY e.n
    ) AS d ON d.n = x.n
    LEFT JOIN unnest(m_name, m_used, m_back) AS s(n, u, b) ON s.n = x.n;
    IF touched <> cardinality(m_name) THEN
        RAISE EXCEPTION 'a reservation moves a counter that is gone' USING ERRCODE = '{guard}';
    END IF;
    easy := easy AND cardinality(stopped) = 0;

    IF easy THEN
        IF replays THEN
            RETURN QUERY
                SELECT CASE WHEN u.f THEN 'H' ELSE 'R' END, NULL::bigint[], NULL::text[],
                       u.s, u.t, u.cr, u.ex
                FROM unnest(fresh, o_state, o_text, o_created, o_expires)
                    WITH ORDINALITY AS u(f, s, t, cr, ex, o)
                ORDER BY u.o;
        ELSIF n_h > 0 THEN
            RETURN QUERY
                SELECT 'H', NULL::bigint[], NULL::text[], NULL::text, NULL::text,
                       NULL::float8, NULL::float8
                FROM generate_series(1, n_h);
        END IF;
    ELSE
        SELECT array_agg(x.i ORDER BY e.o) INTO c_idx
        FROM unnest(c_name) WITH ORDINALITY AS e(n, o)
        LEFT JOIN unnest(cn) WITH ORDINALITY AS x(n, i) ON x.n = e.n;
        ct := array_fill(0::bigint, ARRAY[cardinality(cn)]);
        FOR i IN 1..n_h LOOP
            first := j;
            WHILE j <= n_c AND c_hold[j] = i LOOP
                j := j + 1;
            END LOOP;
            code := NULL; have := NULL; names := NULL; state := NULL; consumption := NULL;
            created := NULL; expires := NULL;
            IF NOT fresh[i] THEN
                code := 'R'; state := o_state[i]; consumption := o_text[i];
                created := o_created[i]; expires := o_expires[i];
                RETURN NEXT;
                CONTINUE;
            END IF;
            IF cardinality(stopped) > 0 THEN
                SELECT array_agg(DISTINCT p) INTO names
                FROM unnest(c_promotion[first:j - 1]) AS p WHERE p = ANY(stopped);
                IF names IS NOT NULL THEN
                    code := 'P'; refused := refused || h_key[i];
                    RETURN NEXT;
                    CONTINUE;
                END IF;
            END IF;
            lost := false; short := false;
            FOR k IN first..j - 1 LOOP
                IF c_idx[k] IS NULL THEN
                    lost := true;
                ELSIF ca[c_idx[k]] < c_amount[k] THEN
                    short := true;
                END IF;
            END LOOP;
            IF lost OR short THEN
                code := CASE WHEN lost THEN 'U' ELSE 'S' END;
                have := ARRAY(SELECT ca[c_idx[g.k]] FROM generate_series(first, j - 1) AS g(k));
                refused := refused || h_key[i];
                RETURN NEXT;
                CONTINUE;
            END IF;
            FOR k IN first..j - 1 LOOP
                ca[c_idx[k]] := ca[c_idx[k]] - c_amount[k];
                ct[c_idx[k]] := ct[c_idx[k]] + c_amount[k];
            END LOOP;
            code := 'H';
            RETURN NEXT;
        END LOOP;
        IF cardinality(refused) > 0 THEN
            DELETE FROM {ns}.reservations WHERE key = ANY(refused);
        END IF;
        SELECT count(*) INTO needed FROM unnest(ct, cu, cb) AS x(t, u, b)
        WHERE x.t <> 0 OR x.u <> 0 OR x.b <> 0;
    END IF;

    IF cardinality(made) > 0 THEN
        -- made for orders that were refused: a refused reserve leaves no trace
        DELETE FROM {ns}.counters c USING unnest(cn, ct) AS x(n, t)
        WHERE c.key = x.n AND x.t = 0 AND x.n = ANY(made);
    END IF;
    UPDATE {ns}.counters SET available = available - x.t + x.b,
        held = held + x.t - x.u - x.b, used = used + x.u
    FROM unnest(cn, ct, cu, cb) AS x(key, t, u, b)
    WHERE (x.t <> 0 OR x.u <> 0 OR x.b <> 0) AND counters.key = x.key
        AND counters.available >= x.t AND counters.held + x.t >= x.u + x.b;
    GET DIAGNOSTICS touched = ROW_COUNT;
    IF touched <> needed THEN
        RAISE EXCEPTION 'a guarded update missed counters held under lock'
            USING ERRCODE = '{guard}';
    END IF;
    IF cardinality(moved) > 0 THEN
        UPDATE {ns}.reservations SET state = m.s FROM unnest(moved, moved_to) AS m(k, s)
        WHERE reservations.key = m.k;
        RETURN QUERY
            SELECT x.c, NULL::bigint[], NULL::text[], x.s, x.t, x.cr, x.ex
            FROM unnest(s_code, s_state, s_text, s_created, s_expires)
                WITH ORDINALITY AS x(c, s, t, cr, ex, o)
            ORDER BY x.o;
    ELSIF cardinality(s_key) > 0 THEN
        RETURN QUERY
            SELECT x.c, NULL::bigint[], NULL::text[], x.s, x.t, x.cr, x.ex
            FROM unnest(s_code, s_state, s_text, s_created, s_expires)
                WITH ORDINALITY AS x(c, s, t, cr, ex, o)
            ORDER BY x.o;
    END IF;
END
$fn$
"""

_TEMPLATE = _BODY.replace("{transitions}", _transitions()).replace("{guard}", GUARD_STATE)
NAME = "apply_batch_" + hashlib.sha256(_TEMPLATE.encode()).hexdigest()[:12]
"""The function's name: a digest of its text, so a changed function is a new one."""

SIGNATURE = (
    f"{NAME}(text[], text[], float8[], float8[], int[], text[], bigint[], text[], text[],"
    " text[], text[], float8[])"
)
# Binary parameters (%b): psycopg dumps a list of floats or strings about three times
# faster so than as array text, and the dumping is most of the client's work on a batch.
CALL = (
    f"SELECT * FROM {NAME}(%b::text[], %b::text[], %b::float8[], %b::float8[], %b::int[],"
    " %b::text[], %b::bigint[], %b::text[], %b::text[], %b::text[], %b::text[], %b::float8[])"
)


def create_function(namespace: str) -> str:
    """The DDL that makes the batch function in ``namespace`` (a checked identifier)."""
    return _TEMPLATE.replace("{ns}", namespace).replace("{name}", NAME)


@functools.lru_cache(maxsize=4096)
def _entries(
    consumption: Consumption,
) -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...], tuple[str, ...]]:
    """A consumption's counter names, amounts, promotions and template names."""
    return (
        tuple(str(k) for k, _ in consumption),
        tuple(n for _, n in consumption),
        tuple(k.promotion for k, _ in consumption),
        tuple(str(k.template()) for k, _ in consumption),
    )


def arguments(holds: Sequence[Hold], steps: Sequence[Step]) -> tuple[list[Any], ...]:
    """The function's arguments for a batch: parallel arrays of holds, counters, steps."""
    h_text: list[str] = []
    c_hold: list[int] = []
    c_amount: list[int] = []
    c_name: list[str] = []
    c_promotion: list[str] = []
    c_template: list[str] = []
    for index, hold in enumerate(holds, 1):
        h_text.append(encode(hold.consumption))
        names, amounts, promotions, templates = _entries(hold.consumption)
        c_hold += [index] * len(names)
        c_name += names
        c_amount += amounts
        c_promotion += promotions
        c_template += templates
    return (
        [h.key for h in holds],
        h_text,
        [h.now for h in holds],
        [h.expires_at for h in holds],
        c_hold,
        c_name,
        c_amount,
        c_promotion,
        c_template,
        [s.key for s in steps],
        [s.target.value for s in steps],
        [s.now for s in steps],
    )


def outcomes(
    holds: Sequence[Hold], steps: Sequence[Step], rows: list[tuple[Any, ...]]
) -> tuple[list[Outcome], list[Outcome]]:
    """The function's rows read back as the outcomes of the holds and of the steps."""
    if len(rows) != len(holds) + len(steps):
        raise AssertionError(f"{len(rows)} outcomes for {len(holds) + len(steps)} orders")
    held = ReservationState.HELD
    reserved: list[Outcome] = []
    for hold, (code, have, names, state, text, created, expires) in zip(holds, rows, strict=False):
        if code == "H":
            reserved.append(
                Reservation(hold.key, hold.consumption, held, hold.now, hold.expires_at)
            )
        elif code == "R":
            reserved.append(
                _stored(hold.key, text, state, created, expires)
                if same_payload(text, hold.fingerprint)
                else IdempotencyConflict(hold.key)
            )
        elif code == "P":
            reserved.append(PromotionPaused(tuple(sorted(names))))
        elif code == "U":
            reserved.append(
                UnknownCounter(
                    tuple(k for (k, _), n in zip(hold.consumption, have, strict=True) if n is None)
                )
            )
        else:
            reserved.append(
                InsufficientError(
                    tuple(
                        Shortfall(k, amount, int(n))
                        for (k, amount), n in zip(hold.consumption, have, strict=True)
                        if n < amount
                    )
                )
            )
    stepped: list[Outcome] = []
    for step, row in zip(steps, rows[len(holds) :], strict=True):
        code, _, _, state, text, created, expires = row
        if code in ("K", "A"):
            stepped.append(_stored(step.key, text, state, created, expires))
        elif code in ("E", "C"):
            stepped.append(ReservationClosed(step.key, state, verb(step.target)))
        else:
            stepped.append(UnknownReservation(step.key))
    return reserved, stepped


def _stored(key: str, text: str, state: str, created: float, expires: float) -> Reservation:
    return Reservation(key, decode(text), ReservationState(state), created, expires)
