"""Reload a served ruleset when its file changes (polled: no platform file events needed)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping

from promorules.diagnostics import PromorulesError, RulesetError
from promorules.holder import EngineHolder, Judge, Refused


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_mtime_ns, found.st_size


class Watcher:
    """Polls every served ruleset's file each ``interval`` seconds; a changed file is
    reloaded through its holder (judged first), off every request's path. What happens
    is said on ``stderr``, one line a reload; a refused file leaves the engine in service."""

    def __init__(
        self, holders: Mapping[str, EngineHolder], judge: Judge | None, interval: float
    ) -> None:
        self.holders = holders
        self.judge = judge
        self.interval = interval
        self._stop = threading.Event()
        self._stamps = {name: _stamp(h.current.source) for name, h in holders.items()}
        self._thread = threading.Thread(target=self._run, name="promorules-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def check(self) -> None:
        """One poll (what the thread does every interval)."""
        for name, holder in self.holders.items():
            stamp = _stamp(holder.current.source)
            if stamp is None or stamp == self._stamps.get(name):
                continue
            self._stamps[name] = stamp
            try:
                loaded = holder.reload_file(judge=self.judge)
            except RulesetError as exc:
                _say(f"{name}: not reloaded, the file has errors:\n{exc.render()}")
            except Refused as exc:
                _say(f"{name}: not reloaded: {exc}")
            except PromorulesError as exc:
                _say(f"{name}: not reloaded: {exc}")
            else:
                _say(f"{name}: version {loaded.version} in service")


def _say(text: str) -> None:
    from promorules.cli.render import safe

    print(f"promorules serve: {safe(text, 4000, lines=True)}", file=sys.stderr, flush=True)
