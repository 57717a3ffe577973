"""The Redis ledger, for many checkout processes and the highest rates.

Why it cannot oversell: every operation that reads and then writes is one Lua script,
and Redis runs a script to completion with no other command in between. The reserve
script checks the idempotency key, the paused set and every counter, and only when all
of them pass does it write (a script that failed half-way would not be rolled back, so
all checks come before the first write). Commit, release and the sweep are scripts too.
A refund is decided in Python (``base.decide_refund``, as on every backend) from a read
of its reservation, then applied by a script that first checks the reservation still
stands as read (committed, with the same refunds before it) and otherwise changes
nothing, so the refund is decided again on a fresh read.

Durability is Redis's: run it with ``appendonly yes`` (``.ci/services.sh`` does, with
``appendfsync everysec``). redis-py's automatic retries are switched off because an
adjust is not idempotent: a timeout surfaces as BackendUnavailable and the caller
decides. Scripts touch keys they compute from the namespace, so this backend needs a
single Redis server (or primary), not Redis Cluster.

Keys, under the namespace ``N`` (``?namespace=N``, default ``promorules``):
``N:c:<counter>`` hash of the four figures; ``N:counters`` set of counter names;
``N:paused`` set of promotions; ``N:r:<idempotency key>`` hash of a reservation;
``N:reservations`` set of reservation keys; ``N:due`` sorted set of held reservations
by deadline; ``N:f:<refund id>`` hash of a refund, ``N:refunds`` set of refund ids (a
reservation's hash keeps what its refunds gave back in all, ``refunded``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
import redis.asyncio
import redis.asyncio.connection
import redis.exceptions
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from promorules.counters import Consumption, CounterKey, CounterSpec
from promorules.ledger.base import (
    MAX_AMOUNT,
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
    check_options,
    decide_refund,
    decode,
    encode,
    refund_entries,
    replayed_refund,
    verb,
)
from promorules.ledger.errors import (
    BackendError,
    BackendUnavailable,
    ContentionError,
    IdempotencyConflict,
    InsufficientError,
    InvalidRequest,
    LedgerError,
    PromotionPaused,
    ReservationClosed,
    Shortfall,
    UnknownCounter,
    UnknownReservation,
)

_pack: Callable[[tuple[Any, ...]], bytes] | None
try:
    from hiredis import pack_command as _pack
except ImportError:  # pragma: no cover - redis[hiredis] brings it; without, redis-py packs
    _pack = None

NAMESPACE = re.compile(r"^[A-Za-z0-9_]{1,64}\Z")
SWEEP_BATCH = 500

# Lua numbers are doubles: from 2^53 on, tonumber() rounds, so every figure stays a
# decimal string, compared by this and changed only by HINCRBY (exact 64-bit).
# Figures are non-negative and written by HINCRBY or str(int): no sign, no leading zero.
LESS = """
local function less(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
"""

# The audit log entry of a change, appended by the script that makes it. ``head`` is the
# entry's fixed fields as a JSON object from Python; the figures, known only here, are
# decimal strings from Redis, so concatenated they stay exact JSON integers.
APPEND_LOG = """
local function append_log(key, head, before, after)
  redis.call('RPUSH', key, string.sub(head, 1, -2) .. ',"before":' .. before
             .. ',"after":' .. after .. '}')
end
local function figures(f)
  return '{"initial":' .. f[1] .. ',"held":' .. f[2] .. ',"used":' .. f[3]
         .. ',"available":' .. f[4]
end
"""

# URL options this backend reads itself, and those redis-py parses; anything else is a
# typo that redis-py would only trip over (TypeError) on the first command.
OWN_OPTIONS = ("namespace", "pool")
DRIVER_OPTIONS = (
    *sorted(redis.connection.URL_QUERY_ARGUMENT_PARSERS),
    "client_name",
    "ssl_ca_certs",
    "ssl_ca_path",
    "ssl_cert_reqs",
    "ssl_certfile",
    "ssl_keyfile",
)

# One reserve, decided against the counters as the orders before it in the batch left
# them; ``pausing`` says whether any promotion is paused (read once a batch: nothing else
# runs during a script). KEYS: paused, due, counters, reservations. ARGV from ``at``:
# idempotency key, fingerprint, now, expires_at, n, n amounts, n names, n template
# names, m, m promotions. Returns its verdict and where the next order's arguments start.
RESERVE = (
    LESS
    + """
local function reserve(prefix, at, pausing)
  local key, fingerprint, now, deadline = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  local n = tonumber(ARGV[at + 4])
  local amounts, names, templates = at + 4, at + 4 + n, at + 4 + 2 * n
  local m = tonumber(ARGV[at + 5 + 3 * n])
  local promotions = at + 5 + 3 * n
  local after = promotions + m + 1
  local res = prefix .. ':r:' .. key
  local seen = redis.call('HMGET', res, 'consumption', 'state', 'created_at', 'expires_at')
  if seen[1] then
    if seen[1] ~= fingerprint then return {'conflict'}, after end
    return {'replay', seen[2], seen[3], seen[4]}, after
  end
  local paused = {}
  for i = 1, pausing and m or 0 do
    local p = ARGV[promotions + i]
    if redis.call('SISMEMBER', KEYS[1], p) == 1 then paused[#paused + 1] = p end
  end
  if #paused > 0 then return {'paused', unpack(paused)}, after end
  local unknown, short, fresh = {}, {}, {}
  for i = 1, n do
    local name = ARGV[names + i]
    local available = redis.call('HGET', prefix .. ':c:' .. name, 'available')
    if not available then
      available = redis.call('HGET', prefix .. ':c:' .. ARGV[templates + i], 'initial')
      fresh[i] = available
    end
    if not available then
      unknown[#unknown + 1] = name
    elseif less(available, ARGV[amounts + i]) then
      short[#short + 1] = name
      short[#short + 1] = available
    end
  end
  if #unknown > 0 then return {'unknown', unpack(unknown)}, after end
  if #short > 0 then return {'short', unpack(short)}, after end
  -- Every check passed: only now write.
  local moves = {}
  for i = 1, n do
    local name, amount = ARGV[names + i], ARGV[amounts + i]
    local counter = prefix .. ':c:' .. name
    moves[i] = {name, amount}
    if fresh[i] then
      redis.call('HSET', counter, 'initial', fresh[i], 'available', fresh[i], 'held', 0,
                 'used', 0)
      redis.call('SADD', KEYS[3], name)
    end
    redis.call('HINCRBY', counter, 'available', '-' .. amount)
    redis.call('HINCRBY', counter, 'held', amount)
  end
  -- 'moves' keeps the amounts as strings: cjson would read the fingerprint's as doubles.
  redis.call('HSET', res, 'consumption', fingerprint, 'state', 'held',
             'created_at', now, 'expires_at', deadline, 'moves', cjson.encode(moves))
  redis.call('ZADD', KEYS[2], deadline, key)
  redis.call('SADD', KEYS[4], key)
  return {'ok'}, after
end
"""
)

# Moves a reservation's amounts out of held; shared by the transition and the sweep.
MOVE = """
local function move(prefix, consumption, moves, back)
  -- reservations made before 'moves' existed: their amounts were below 2^53 or wrong
  for _, pair in ipairs(cjson.decode(moves or consumption)) do
    local counter = prefix .. ':c:' .. pair[1]
    local amount = pair[2]
    if type(amount) == 'number' then amount = string.format('%d', amount) end
    redis.call('HINCRBY', counter, 'held', '-' .. amount)
    redis.call('HINCRBY', counter, back, amount)
  end
end
"""

# The reservation state machine of base.plan_transition, restated in Lua because the
# decision and the move must be one atomic step. The contract suite holds them equal.
# One commit or release; KEYS[2] is the due set.
TRANSITION = (
    MOVE
    + """
local function transition(prefix, key, target, now)
  local res = prefix .. ':r:' .. key
  local seen = redis.call('HMGET', res, 'consumption', 'state', 'created_at', 'expires_at',
                         'moves')
  if not seen[1] then return {'unknown'} end
  local state = seen[2]
  local verdict, to = 'keep', state
  if state ~= target then
    if target == 'committed' and state == 'held' then
      verdict = 'moved'
      if tonumber(now) < tonumber(seen[4]) then to = 'committed' else to = 'expired' end
    elseif target == 'released' and state == 'held' then
      verdict, to = 'moved', 'released'
    elseif not (target == 'released' and state == 'expired') then
      return {'refuse', seen[1], state, seen[3], seen[4]}
    end
  end
  if verdict == 'moved' then
    move(prefix, seen[1], seen[5], to == 'committed' and 'used' or 'available')
    redis.call('HSET', res, 'state', to)
    redis.call('ZREM', KEYS[2], key)
  end
  return {verdict, seen[1], to, seen[3], seen[4]}
end
"""
)

# A batch: its reserves in order, then its commits and releases, in one script (one round
# trip, nothing in between). KEYS: paused, due, counters, reservations. ARGV: prefix, the
# number of reserves, each reserve's arguments (above), then (idempotency key, target,
# now) per commit or release. Replies {reserve verdicts, commit and release verdicts}.
BATCH = (
    RESERVE
    + TRANSITION
    + """
local prefix, reserves = ARGV[1], tonumber(ARGV[2])
local reserved, moved, at = {}, {}, 3
-- nothing paused (the usual case): no order's promotions need looking up
local pausing = reserves > 0 and redis.call('SCARD', KEYS[1]) > 0
for i = 1, reserves do
  reserved[i], at = reserve(prefix, at, pausing)
end
for i = at, #ARGV, 3 do
  moved[#moved + 1] = transition(prefix, ARGV[i], ARGV[i + 1], ARGV[i + 2])
end
return {reserved, moved}
"""
)

# KEYS: due. ARGV: prefix, now, batch size.
SWEEP = (
    MOVE
    + """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])
local expired = 0
for _, key in ipairs(due) do
  local res = ARGV[1] .. ':r:' .. key
  local seen = redis.call('HMGET', res, 'consumption', 'state', 'moves')
  if seen[2] == 'held' then
    move(ARGV[1], seen[1], seen[3], 'available')
    redis.call('HSET', res, 'state', 'expired')
    expired = expired + 1
  end
  redis.call('ZREM', KEYS[1], key)
end
return {expired, #due}
"""
)

# KEYS: counters, log. ARGV: prefix, log head, then name/initial pairs. Returns the current
# initial of each counter that existed before (or '' for the ones created).
PROVISION = (
    APPEND_LOG
    + """
local out, created = {}, {}
for i = 3, #ARGV, 2 do
  local counter = ARGV[1] .. ':c:' .. ARGV[i]
  local found = redis.call('HGET', counter, 'initial')
  if found then
    out[#out + 1] = found
  else
    redis.call('HSET', counter, 'initial', ARGV[i + 1], 'available', ARGV[i + 1],
               'held', 0, 'used', 0)
    redis.call('SADD', KEYS[1], ARGV[i])
    out[#out + 1] = ''
    created[#created + 1] = cjson.encode(ARGV[i]) .. ':' .. ARGV[i + 1]
  end
end
if #created > 0 then
  append_log(KEYS[2], ARGV[2], '{}', '{"created":{' .. table.concat(created, ',') .. '}}')
end
return out
"""
)

# KEYS: paused, log. ARGV: promotion, '1' to pause or '0' to resume, log head.
PAUSE = (
    APPEND_LOG
    + """
local before = redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1
if ARGV[2] == '1' then
  redis.call('SADD', KEYS[1], ARGV[1])
else
  redis.call('SREM', KEYS[1], ARGV[1])
end
append_log(KEYS[2], ARGV[3], '{"paused":' .. tostring(before) .. '}',
           '{"paused":' .. (ARGV[2] == '1' and 'true' or 'false') .. '}')
"""
)

# KEYS: paused, counters. ARGV: prefix, then names (none: every counter).
AVAILABILITY = """
local names = {}
if #ARGV > 1 then
  for i = 2, #ARGV do names[#names + 1] = ARGV[i] end
else
  names = redis.call('SMEMBERS', KEYS[2])
end
local out = {redis.call('SMEMBERS', KEYS[1])}
for _, name in ipairs(names) do
  local available = redis.call('HGET', ARGV[1] .. ':c:' .. name, 'available')
  if available then
    out[#out + 1] = name
    out[#out + 1] = available
  end
end
return out
"""

# KEYS: counters. ARGV: prefix. One atomic read of every counter's figures.
STATUS = """
local out = {}
for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local f = redis.call('HMGET', ARGV[1] .. ':c:' .. name, 'initial', 'held', 'used', 'available')
  out[#out + 1] = {name, f[1], f[2], f[3], f[4]}
end
return out
"""

# KEYS: counter, log. ARGV: delta (decimal, maybe signed), clamp ('1' or '0'), log head.
# Returns the figures after.
ADJUST = (
    LESS
    + APPEND_LOG
    + """
local before = redis.call('HMGET', KEYS[1], 'initial', 'held', 'used', 'available')
if not before[1] then return {'unknown'} end
local available, d = before[4], ARGV[1]
if string.sub(d, 1, 1) == '-' and less(available, string.sub(d, 2)) then
  if ARGV[2] ~= '1' then return {'short', available} end
  d = available == '0' and '0' or '-' .. available
end
-- initial is the largest figure: if it does not overflow, available does not either
local grown = redis.pcall('HINCRBY', KEYS[1], 'initial', d)
if type(grown) == 'table' and grown.err then return {'overflow'} end
redis.call('HINCRBY', KEYS[1], 'available', d)
local after = redis.call('HMGET', KEYS[1], 'initial', 'held', 'used', 'available')
append_log(KEYS[2], ARGV[3], figures(before) .. '}', figures(after) .. ',"delta":' .. ARGV[1]
           .. ',"clamp":' .. (ARGV[2] == '1' and 'true' or 'false') .. '}')
return {'ok', after[1], after[2], after[3], after[4]}
"""
)

# KEYS: refunds, log. ARGV: prefix, refund id, reservation key, what its refunds gave
# back before as read ('' for nothing), what they give back after this one, its moves
# (the refund's stored consumption), its time, n, n counter names, n amounts, then the
# log entries. Returns {'ok'}, or why nothing was written.
REFUND = (
    LESS
    + """
local prefix, id, key = ARGV[1], ARGV[2], ARGV[3]
local made = redis.call('HMGET', prefix .. ':f:' .. id, 'reservation', 'consumption', 'at')
if made[1] then return {'replay', made[1], made[2], made[3]} end
local res = prefix .. ':r:' .. key
local seen = redis.call('HMGET', res, 'state', 'refunded')
if not seen[1] then return {'unknown'} end
if seen[1] ~= 'committed' then return {'closed', seen[1]} end
if (seen[2] or '') ~= ARGV[4] then return {'stale'} end
local n = tonumber(ARGV[8])
for i = 1, n do
  local used = redis.call('HGET', prefix .. ':c:' .. ARGV[8 + i], 'used')
  if not used or less(used, ARGV[8 + n + i]) then return {'broken', ARGV[8 + i]} end
end
for i = 1, n do
  local counter = prefix .. ':c:' .. ARGV[8 + i]
  redis.call('HINCRBY', counter, 'used', '-' .. ARGV[8 + n + i])
  redis.call('HINCRBY', counter, 'available', ARGV[8 + n + i])
end
redis.call('HSET', res, 'refunded', ARGV[5])
redis.call('HSET', prefix .. ':f:' .. id, 'reservation', key, 'consumption', ARGV[6],
           'at', ARGV[7])
redis.call('SADD', KEYS[1], id)
for i = 9 + 2 * n, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
return {'ok'}
"""
)

REFUND_ROUNDS = 20
"""How often a refund is decided again when its reservation changed under it."""

# KEYS: reservations. ARGV: prefix.
RESERVATIONS = """
local out = {}
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local f = redis.call('HMGET', ARGV[1] .. ':r:' .. key,
                       'consumption', 'state', 'created_at', 'expires_at')
  out[#out + 1] = {key, f[1], f[2], f[3], f[4]}
end
return out
"""


class RedisLedger(Ledger):
    def __init__(
        self,
        url: str,
        clock: Clock = time.time,
        *,
        namespace: str = "promorules",
        pool: int = 64,
    ) -> None:
        super().__init__(clock)
        if not NAMESPACE.match(namespace):
            raise InvalidRequest(f"namespace must be letters, digits or _: {namespace!r}")
        if not 1 <= pool <= 10_000:
            raise InvalidRequest(f"redis pool is 1 to 10000 connections, got {pool}")
        self.url = url
        self.namespace = namespace
        connections = redis.BlockingConnectionPool.from_url(
            url,
            max_connections=max(1, pool),
            timeout=20,
            retry=Retry(NoBackoff(), 0),
            **_CONNECTION_SETTINGS,
        )
        self._redis = redis.Redis(connection_pool=connections)
        register = self._redis.register_script
        self._batch_script = register(BATCH)
        self._sweep_script = register(SWEEP)
        self._provision_script = register(PROVISION)
        self._availability_script = register(AVAILABILITY)
        self._status_script = register(STATUS)
        self._adjust_script = register(ADJUST)
        self._pause_script = register(PAUSE)
        self._reservations_script = register(RESERVATIONS)
        self._refund_script = register(REFUND)
        n = namespace
        self._paused_key = f"{n}:paused"
        self._due_key = f"{n}:due"
        self._counters_key = f"{n}:counters"
        self._reservations_key = f"{n}:reservations"
        self._meta_key = f"{n}:meta"
        self._log_key = f"{n}:log"
        self._refunds_key = f"{n}:refunds"
        self._batch_keys = [
            self._paused_key,
            self._due_key,
            self._counters_key,
            self._reservations_key,
        ]
        self._settle_key_format()

    @classmethod
    def from_url(cls, url: str, clock: Clock = time.time) -> RedisLedger:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        check_options("redis", query, (*OWN_OPTIONS, *DRIVER_OPTIONS))
        namespace = query.pop("namespace", "promorules")
        pool = query.pop("pool", "64")
        plain = urlunsplit(parts._replace(query=urlencode(query)))
        try:
            return cls(plain, clock, namespace=namespace, pool=int(pool))
        except ValueError as exc:
            raise InvalidRequest(f"bad redis URL: {exc}") from exc

    def _counter(self, name: str) -> str:
        return f"{self.namespace}:c:{name}"

    def _res(self, key: str) -> str:
        return f"{self.namespace}:r:{key}"

    def close(self) -> None:
        self._redis.close()
        self._redis.connection_pool.disconnect()

    def destroy(self) -> None:
        with _translated():
            batch: list[str] = []
            for key in self._redis.scan_iter(match=f"{self.namespace}:*", count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    self._redis.delete(*batch)
                    batch.clear()
            if batch:
                self._redis.delete(*batch)

    # -- primitives -------------------------------------------------------------------

    def _provision(self, specs: Sequence[CounterSpec], head: str) -> ProvisionResult:
        args: list[str] = [self.namespace, head]
        for key, initial in specs:
            args += [str(key), str(initial)]
        with _translated():
            found = self._provision_script(keys=[self._counters_key, self._log_key], args=args)
        created, unchanged, differing = [], [], []
        for (key, initial), before in zip(specs, found, strict=True):
            if before == "":
                created.append(key)
            elif int(before) == initial:
                unchanged.append(key)
            else:
                differing.append((key, int(before), initial))
        return ProvisionResult(tuple(created), tuple(unchanged), tuple(differing))

    def _availability(
        self, keys: Sequence[CounterKey] | None
    ) -> tuple[dict[CounterKey, int], frozenset[str]]:
        if keys is not None and not keys:
            with _translated():
                return {}, frozenset(str(p) for p in self._redis.smembers(self._paused_key))
        names = (
            [] if keys is None else sorted({str(k) for key in keys for k in (key, key.template())})
        )
        with _translated():
            out = self._availability_script(
                keys=[self._paused_key, self._counters_key], args=[self.namespace, *names]
            )
        paused, flat = out[0], out[1:]
        remaining = {CounterKey.parse(flat[i]): int(flat[i + 1]) for i in range(0, len(flat), 2)}
        return remaining, frozenset(paused)

    def _reserve_many(self, holds: Sequence[Hold]) -> list[Outcome]:
        return self._apply_many(holds, ())[0]

    def _transition_many(self, steps: Sequence[Step]) -> list[Outcome]:
        return self._apply_many((), steps)[1]

    def _apply_many(
        self, holds: Sequence[Hold], steps: Sequence[Step]
    ) -> tuple[list[Outcome], list[Outcome]]:
        with _translated():
            reply = self._batch_script(keys=self._batch_keys, args=self._batch_args(holds, steps))
        return _batch_outcomes(holds, steps, reply)

    def _batch_args(self, holds: Sequence[Hold], steps: Sequence[Step]) -> list[str]:
        """The batch script's ARGV (see BATCH)."""
        args = [self.namespace, str(len(holds))]
        for hold in holds:
            args += (hold.key, hold.fingerprint, repr(hold.now), repr(hold.expires_at))
            args += _consumption_args(hold.consumption)
        for step in steps:
            args += (step.key, step.target.value, repr(step.now))
        return args

    def async_batches(self) -> AsyncBatches:
        """A connection of the running event loop's for this ledger's batches.

        ``AsyncBatchingLedger`` sends its batches through it from the loop itself, with
        no thread between; ``await aclose()`` closes it.
        """
        return AsyncBatches(self)

    def _get(self, idempotency_key: str) -> Reservation | None:
        with _translated():
            seen = self._redis.hmget(
                self._res(idempotency_key), ["consumption", "state", "created_at", "expires_at"]
            )
        if seen[0] is None:
            return None
        return _reservation([idempotency_key, *seen])

    def _refund(self, give: GiveBack) -> Refunded:
        for _ in range(REFUND_ROUNDS):
            with _translated():
                made = self._redis.hmget(
                    f"{self.namespace}:f:{give.refund_id}", ["reservation", "consumption", "at"]
                )
                seen = self._redis.hmget(
                    self._res(give.reservation),
                    ["consumption", "state", "created_at", "expires_at", "refunded", "moves"],
                )
            if made[0] is not None:
                return replayed_refund(give, _refunded([give.refund_id, *made]))
            found = None
            if seen[0] is not None:
                # 'moves' is what the reserve took, counter by counter (a shard's own)
                taken = [seen[0] if seen[5] is None else _moves(str(seen[5])), *seen[1:4]]
                found = _reservation([give.reservation, *taken])
            read = str(seen[4] or "")
            before = decode(read) if read else ()
            moves = decide_refund(give, found, before)
            args = [
                self.namespace,
                give.refund_id,
                give.reservation,
                read,
                encode(add_up(before, moves)),
                encode(moves),
                repr(give.now),
                str(len(moves)),
                *(str(k) for k, _ in moves),
                *(str(n) for _, n in moves),
                *refund_entries(give, before, moves),
            ]
            with _translated():
                out = self._refund_script(keys=[self._refunds_key, self._log_key], args=args)
            verdict = out[0]
            if verdict == "ok":
                return Refunded(give.refund_id, give.reservation, moves, give.now)
            if verdict == "replay":
                return replayed_refund(give, _refunded([give.refund_id, *out[1:]]))
            if verdict == "unknown":
                raise UnknownReservation(give.reservation)
            if verdict == "closed":
                raise ReservationClosed(give.reservation, str(out[1]), "refund")
            if verdict != "stale":
                raise LedgerError(f"counter {out[-1]} used less than its reservations")
        raise ContentionError(f"reservation {give.reservation!r} kept changing under the refund")

    def _refunds(self, reservation: str | None) -> Iterable[Refunded]:
        with _translated():
            ids = sorted(str(i) for i in self._redis.smembers(self._refunds_key))
            pipe = self._redis.pipeline(transaction=False)
            for refund_id in ids:
                pipe.hmget(f"{self.namespace}:f:{refund_id}", ["reservation", "consumption", "at"])
            rows = pipe.execute() if ids else []
        found = [_refunded([i, *row]) for i, row in zip(ids, rows, strict=True) if row[0]]
        return [r for r in found if reservation in (None, r.reservation)]

    def _sweep(self, now: float) -> int:
        total = 0
        while True:
            with _translated():
                expired, seen = self._sweep_script(
                    keys=[self._due_key], args=[self.namespace, repr(now), SWEEP_BATCH]
                )
            total += int(expired)
            if int(seen) < SWEEP_BATCH:
                return total

    def _set_paused(self, promotion: str, paused: bool, head: str) -> None:
        with _translated():
            self._pause_script(
                keys=[self._paused_key, self._log_key],
                args=[promotion, "1" if paused else "0", head],
            )

    def _adjust(self, key: CounterKey, delta: int, clamp: bool, head: str) -> CounterRow:
        with _translated():
            out = self._adjust_script(
                keys=[self._counter(str(key)), self._log_key],
                args=[str(delta), "1" if clamp else "0", head],
            )
        if out[0] == "unknown":
            raise UnknownCounter((key,))
        if out[0] == "short":
            raise InsufficientError((Shortfall(key, -delta, int(out[1])),))
        if out[0] == "overflow":
            raise InvalidRequest(
                f"a top-up of {delta} would take {key} past the ledger maximum {MAX_AMOUNT}"
            )
        return _row([str(key), *out[1:5]])

    def _status(self, promotion: str | None) -> Iterable[CounterRow]:
        with _translated():
            out = self._status_script(keys=[self._counters_key], args=[self.namespace])
        rows = [_row(r) for r in out]
        return [r for r in rows if promotion is None or r.key.promotion == promotion]

    def _reservations(self, state: ReservationState | None) -> Iterable[Reservation]:
        with _translated():
            out = self._reservations_script(keys=[self._reservations_key], args=[self.namespace])
        found = [_reservation(r) for r in out]
        return [r for r in found if state in (None, r.state)]

    def _counter_names(self) -> Iterable[str]:
        with _translated():
            return [str(n) for n in self._redis.smembers(self._counters_key)]

    def _meta_get(self, name: str) -> str | None:
        with _translated():
            found = self._redis.hget(self._meta_key, name)
        return None if found is None else str(found)

    def _meta_set(self, name: str, value: str) -> None:
        with _translated():
            self._redis.hset(self._meta_key, name, value)

    def _read_log(self) -> Iterable[tuple[int, str]]:
        with _translated():
            found = self._redis.lrange(self._log_key, 0, -1)
        return [(seq, str(text)) for seq, text in enumerate(found, 1)]


class AsyncBatches:
    """A RedisLedger's batch script, sent on an asyncio connection of its own.

    The same script with the same arguments and replies as ``RedisLedger._apply_many``;
    only the I/O differs. redis-py's asyncio client makes the connection (URL, auth,
    TLS, database); the command is packed by hiredis, as the blocking client does (the
    asyncio one packs it in Python, a few microseconds an argument). One batch at a
    time (AsyncBatchingLedger's rule; a lock keeps it so for any caller), so one
    connection, kept between batches and dropped when a call fails or is cancelled
    half-way.
    """

    def __init__(self, ledger: RedisLedger) -> None:
        self._ledger = ledger
        self._redis = redis.asyncio.Redis.from_url(
            ledger.url, retry=AsyncRetry(NoBackoff(), 0), **_CONNECTION_SETTINGS
        )
        self._connection: redis.asyncio.connection.AbstractConnection | None = None
        self._one_at_a_time = asyncio.Lock()
        keys = ledger._batch_keys
        self._head: tuple[str | int, ...] = ("EVALSHA", _BATCH_SHA, len(keys), *keys)

    async def apply_many(
        self, holds: Sequence[Hold], steps: Sequence[Step]
    ) -> tuple[list[Outcome], list[Outcome]]:
        args = self._ledger._batch_args(holds, steps)
        with _translated():
            try:
                reply = await self._call(args)
            except redis.exceptions.NoScriptError:  # a new or restarted server
                await self._redis.script_load(BATCH)
                reply = await self._call(args)
        return _batch_outcomes(holds, steps, reply)

    async def _call(self, args: Sequence[str]) -> Any:
        async with self._one_at_a_time:
            return await self._send(args)

    async def _send(self, args: Sequence[str]) -> Any:
        connection = self._connection
        if connection is None:
            connection = await self._redis.connection_pool.get_connection()  # type: ignore[no-untyped-call]
            self._connection = connection
        command: tuple[str | int, ...] = (*self._head, *args)
        try:
            packed = connection.pack_command(*command) if _pack is None else _pack(command)
            await connection.send_packed_command(packed, False)
            return await connection.read_response()
        except redis.exceptions.ResponseError:
            raise  # an error reply: the connection is in step
        except BaseException:
            # a reply may be on its way: this connection is out of step, never reuse it
            self._connection = None
            await connection.disconnect()
            await self._redis.connection_pool.release(connection)
            raise

    async def aclose(self) -> None:
        if self._connection is not None:
            await self._redis.connection_pool.release(self._connection)
            self._connection = None
        await self._redis.aclose()


_BATCH_SHA = hashlib.sha1(BATCH.encode()).hexdigest()

# Both the blocking pool and the asyncio client; each with no automatic retries (an
# adjust is not idempotent): a timeout is BackendUnavailable and the caller decides.
_CONNECTION_SETTINGS: dict[str, Any] = {"decode_responses": True, "socket_timeout": 10}


def _batch_outcomes(
    holds: Sequence[Hold], steps: Sequence[Step], reply: Sequence[Any]
) -> tuple[list[Outcome], list[Outcome]]:
    reserved, moved = reply
    return (
        [_reserved(hold, out) for hold, out in zip(holds, reserved, strict=True)],
        [_moved(step, out) for step, out in zip(steps, moved, strict=True)],
    )


@functools.lru_cache(maxsize=4096)
def _consumption_args(consumption: Consumption) -> tuple[str, ...]:
    """The reserve script's arguments for a consumption, from ``n`` on (see RESERVE).

    The same for every order of a flash sale's SKU, so kept for the recent ones.
    """
    promotions = sorted({k.promotion for k, _ in consumption})
    return (
        str(len(consumption)),
        *(str(n) for _, n in consumption),
        *(str(k) for k, _ in consumption),
        *(str(k.template()) for k, _ in consumption),
        str(len(promotions)),
        *promotions,
    )


def _reserved(hold: Hold, out: Sequence[Any]) -> Outcome:
    """The outcome of one order from its verdict in the reserve script's reply."""
    verdict, rest = out[0], out[1:]
    if verdict == "ok":
        return Reservation(
            hold.key, hold.consumption, ReservationState.HELD, hold.now, hold.expires_at
        )
    if verdict == "replay":
        state, created_at, deadline = rest
        return Reservation(
            hold.key, hold.consumption, ReservationState(state), float(created_at), float(deadline)
        )
    if verdict == "conflict":
        return IdempotencyConflict(hold.key)
    if verdict == "paused":
        return PromotionPaused(tuple(rest))
    if verdict == "unknown":
        return UnknownCounter(tuple(CounterKey.parse(k) for k in rest))
    if verdict == "short":
        wanted = dict(hold.consumption)
        short = []
        for i in range(0, len(rest), 2):
            key = CounterKey.parse(rest[i])
            short.append(Shortfall(key, wanted[key], int(rest[i + 1])))
        return InsufficientError(tuple(short))
    return LedgerError(f"unexpected reply from the reserve script: {out!r}")


def _moved(step: Step, out: Sequence[Any]) -> Outcome:
    """The outcome of one commit or release from its verdict in the script's reply."""
    if out[0] == "unknown":
        return UnknownReservation(step.key)
    verdict, text, state, created_at, expires_at = out
    if verdict == "refuse" or (verdict == "moved" and state == ReservationState.EXPIRED.value):
        return ReservationClosed(step.key, state, verb(step.target))
    return Reservation(step.key, decode(text), _STATES[state], float(created_at), float(expires_at))


_STATES = {state.value: state for state in ReservationState}


def _reservation(row: Sequence[Any]) -> Reservation:
    key, text, state, created_at, expires_at = row
    return Reservation(
        str(key), decode(text), ReservationState(state), float(created_at), float(expires_at)
    )


def _moves(text: str) -> str:
    """A reserve's 'moves' (amounts as decimal strings) as a consumption's text."""
    return encode(tuple((CounterKey.parse(k), int(n)) for k, n in json.loads(text)))


def _refunded(row: Sequence[Any]) -> Refunded:
    refund_id, reservation, text, at = row
    return Refunded(str(refund_id), str(reservation), decode(text), float(at))


def _row(row: Sequence[Any]) -> CounterRow:
    name, initial, held, used, available = row
    return CounterRow(CounterKey.parse(name), int(initial), int(held), int(used), int(available))


# Error replies a retry can change: a script or a load still running, memory that
# eviction frees, a replica promoted. Any other reply (a script error, a foreign key of
# the wrong type in our namespace) stays until someone fixes it.
_TRANSIENT_REPLIES = ("BUSY", "LOADING", "OOM", "READONLY", "MASTERDOWN", "TRYAGAIN", "NOREPLICAS")


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """Turn driver errors into the ledger's typed errors, by what a retry can change."""
    try:
        yield
    except redis.exceptions.ResponseError as exc:
        if str(exc).split(" ", 1)[0] in _TRANSIENT_REPLIES:
            raise BackendUnavailable(f"redis: {exc}") from exc
        raise BackendError(f"redis: {exc}") from exc
    except redis.exceptions.RedisError as exc:
        raise BackendUnavailable(f"redis: {exc}") from exc
