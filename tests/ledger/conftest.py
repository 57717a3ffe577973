"""Backends for the ledger contract suite.

Every test that takes ``backend`` runs once per backend. PostgreSQL and Redis come from
``PROMORULES_TEST_POSTGRES_URL`` / ``PROMORULES_TEST_REDIS_URL``; without them those
runs skip, except under ``CI=true``, where a missing URL fails so CI cannot pass by
skipping the servers it is meant to prove. Each test gets its own namespace (a SQLite
file, a PostgreSQL schema, a Redis key prefix) and destroys it afterwards.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from promorules.ledger import AsyncBatchingLedger, BatchingLedger, Ledger, Outcome, open_ledger
from promorules.ledger.base import Hold, Step

BACKENDS = ("memory", "sqlite", "postgres", "redis")
SERVER_ENV = {
    "postgres": "PROMORULES_TEST_POSTGRES_URL",
    "redis": "PROMORULES_TEST_REDIS_URL",
}


class FakeClock:
    """A clock the test moves by hand, so expiry never depends on real time."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def server_url(name: str) -> str:
    """The server URL for ``name``, or skip (fail under CI) when it is not configured."""
    url = os.environ.get(SERVER_ENV[name], "")
    if not url:
        message = f"{SERVER_ENV[name]} is not set"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}: CI must run the {name} backend (see .ci/services.sh)")
        pytest.skip(message)
    return url


def with_namespace(url: str, namespace: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}namespace={namespace}"


def fresh_url(name: str, tmp_path: Path) -> str:
    """A URL naming an empty ledger of backend ``name`` that only this test uses."""
    if name == "memory":
        return "memory://"
    if name == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return with_namespace(server_url(name), f"t_{uuid.uuid4().hex[:12]}")


Factory = Callable[..., Ledger]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=BACKENDS[1:])
def shared_backend(request: pytest.FixtureRequest) -> str:
    """Backends that many processes can share (all but memory)."""
    return str(request.param)


def _url_for(name: str, tmp_path: Path) -> Iterator[str]:
    url = fresh_url(name, tmp_path)
    yield url
    if name in SERVER_ENV:
        with open_ledger(url) as ledger:
            ledger.destroy()


@pytest.fixture
def ledger_url(backend: str, tmp_path: Path) -> Iterator[str]:
    yield from _url_for(backend, tmp_path)


@pytest.fixture
def shared_url(shared_backend: str, tmp_path: Path) -> Iterator[str]:
    yield from _url_for(shared_backend, tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


MODES = ("direct", "batched", "sharded", "async", "lanes")
SHARDS = 3


def sharded(mode: str) -> bool:
    """Whether ``mode`` splits every counter provisioned (templates aside) into shards."""
    return mode in ("sharded", "lanes")


def shards_of(mode: str) -> int:
    return SHARDS if sharded(mode) else 1


class LoopFronted(BatchingLedger):
    """``ledger`` whose reserves, commits and releases go through an AsyncBatchingLedger
    on an event loop of its own thread: the ``async`` mode, in which every call of the
    suite reaches the backend as asyncio checkout code's would (on Redis, batches sent
    from the loop). Everything else goes straight through, as BatchingLedger's does.
    """

    def __init__(self, ledger: Ledger) -> None:
        super().__init__(ledger)
        self._loop = asyncio.new_event_loop()
        self._runs = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runs.start()
        self.front = AsyncBatchingLedger(ledger)

    def _batch(self, items: Sequence[Hold | Step]) -> list[Outcome]:
        return asyncio.run_coroutine_threadsafe(self.front._submit(items), self._loop).result()

    def close(self) -> None:
        if self._loop.is_closed():
            return  # closed before, as a ledger may be (by a front put before it)
        asyncio.run_coroutine_threadsafe(self.front.aclose(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._runs.join()
        self._loop.close()


def in_mode(ledger: Ledger, mode: str) -> Ledger:
    """``ledger`` as ``mode`` reaches it: behind a BatchingLedger (batched; lanes: of
    SHARDS lanes), behind an AsyncBatchingLedger (async), or as opened (direct; sharded
    is how it was opened)."""
    if mode == "batched":
        return BatchingLedger(ledger)
    if mode == "lanes":
        return BatchingLedger(ledger, lanes=SHARDS)
    if mode == "async":
        return LoopFronted(ledger)
    return ledger


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """How the test's handles reach the backend.

    ``direct``: as opened; ``batched``: behind a BatchingLedger, so concurrent calls
    coalesce into batches; ``sharded``: every counter provisioned (templates aside) is
    split into SHARDS shards; ``async``: behind an AsyncBatchingLedger (LoopFronted);
    ``lanes``: sharded, behind a batcher of SHARDS lanes (each aiming at a shard of its
    own).
    """
    return str(request.param)


@pytest.fixture
def open_more(ledger_url: str, backend: str, mode: str) -> Iterator[Factory]:
    """Open further handles on the test's ledger (for memory: the same object), in ``mode``."""
    opened: list[Ledger] = []
    shared: dict[str, Ledger] = {}

    def factory(**kwargs: object) -> Ledger:
        if backend == "memory" and "memory" in shared:
            ledger = shared["memory"]
        else:
            ledger = open_ledger(ledger_url, shards=shards_of(mode), **kwargs)  # type: ignore[arg-type]
            shared[backend] = ledger
        ledger = in_mode(ledger, mode)
        opened.append(ledger)
        return ledger

    yield factory
    for ledger in opened:
        ledger.close()


@pytest.fixture
def ledger(open_more: Factory, clock: FakeClock) -> Ledger:
    return open_more(clock=clock)
