"""A small, fork-aware connection pool shared by the SQL backends.

Bounded so a thousand checkout threads queue for a handful of connections instead of
opening a thousand (PostgreSQL's ``max_connections`` is 100 by default). After a fork
the child starts with an empty pool: a connection must never be shared across
processes.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

C = TypeVar("C")


class Pool(Generic[C]):
    def __init__(
        self,
        connect: Callable[[], C],
        close: Callable[[C], None],
        healthy: Callable[[C], bool],
        size: int,
    ) -> None:
        self._connect = connect
        self._close = close
        self._healthy = healthy
        self._size = max(1, size)
        self._reset()

    def _reset(self) -> None:
        self._idle: queue.LifoQueue[C] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(self._size)
        self._pid = os.getpid()

    @contextlib.contextmanager
    def connection(self) -> Iterator[C]:
        """Borrow a connection; it goes back unless it is left unhealthy."""
        if os.getpid() != self._pid:
            self._reset()  # forked: the parent's connections are not ours to use
        with self._slots:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._connect()
            reusable = False
            try:
                yield conn
                reusable = True
            except BaseException:
                # A refusal (insufficient, paused) leaves the connection usable.
                reusable = self._healthy(conn)
                raise
            finally:
                if reusable:
                    self._idle.put(conn)
                else:
                    with contextlib.suppress(Exception):
                        self._close(conn)

    def close(self) -> None:
        """Close the idle connections (those borrowed close when they come back)."""
        if os.getpid() != self._pid:
            self._reset()
            return
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return
            with contextlib.suppress(Exception):
                self._close(conn)
