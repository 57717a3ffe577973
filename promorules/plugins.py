"""Loading plugins: a typed facade over pluggy that yields a registry of kinds.

Nothing is loaded at import time and there is no global manager: each
:class:`PluginHost` is built on demand, from entry points (the default) or from an
explicit list of plugin objects (tests, embedding). Hooks run only here, while an
engine is built; pricing never calls pluggy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any

import attrs
import pluggy

from promorules import hookspecs
from promorules.diagnostics import PromorulesError
from promorules.kind import Kind, Lane

ENTRY_POINT_GROUP = "promorules"
_KIND_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}\Z")


class PluginError(PromorulesError):
    """A plugin that cannot be loaded or registers something invalid."""


@attrs.frozen
class KindInfo:
    """A registered kind and the plugin it came from (for ``promorules plugins``)."""

    kind: Kind
    source: str


class KindRegistry(Mapping[str, Kind]):
    """Kinds by name, as registered by the loaded plugins."""

    def __init__(self, infos: Mapping[str, KindInfo]) -> None:
        self._infos = dict(infos)

    def __getitem__(self, name: str) -> Kind:
        return self._infos[name].kind

    def __iter__(self) -> Any:
        return iter(self._infos)

    def __len__(self) -> int:
        return len(self._infos)

    def info(self, name: str) -> KindInfo:
        return self._infos[name]


class PluginHost:
    """Collects plugins and asks them for their kinds.

    ``PluginHost.default()`` loads every plugin of the ``promorules`` entry-point group;
    ``PluginHost(plugins=[module, ...])`` loads exactly the ones given.
    """

    def __init__(self, plugins: Iterable[object] = (), *, entry_points: bool = False) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._sources: dict[int, str] = {}
        if entry_points:
            self._load_entry_points()
        for plugin in plugins:
            self._register(plugin, getattr(plugin, "__name__", type(plugin).__name__))
        try:
            self._pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {_plugin_name(exc.plugin)}: {exc}") from None
        self._registry: KindRegistry | None = None

    @classmethod
    def default(cls) -> PluginHost:
        return cls(entry_points=True)

    def _load_entry_points(self) -> None:
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken third-party plugin must say who it is
                raise PluginError(
                    f"entry point {ep.name!r} ({ep.value}) failed to load: {exc}"
                ) from exc
            dist = getattr(ep, "dist", None)
            where = f"{dist.name} {dist.version}" if dist is not None else ep.value
            self._register(plugin, f"{ep.value} ({where})")

    def _register(self, plugin: object, source: str) -> None:
        if self._pm.is_registered(plugin):
            return
        try:
            self._pm.register(plugin)
        except (pluggy.PluginValidationError, ValueError) as exc:
            raise PluginError(f"plugin {source}: {exc}") from None
        self._sources[id(plugin)] = source
        # pluggy silently skips an unmarked function, so a forgotten @hookimpl would
        # drop a plugin's kinds without a word
        for name in dir(plugin):
            if not name.startswith(f"{hookspecs.PROJECT}_"):
                continue
            if callable(getattr(plugin, name, None)) and (
                self._pm.parse_hookimpl_opts(plugin, name) is None
            ):
                raise PluginError(
                    f"plugin {source}: {name} looks like a hook but is not marked "
                    "@promorules.hookimpl"
                )

    @property
    def kinds(self) -> KindRegistry:
        """Every kind the plugins register (computed once per host)."""
        if self._registry is None:
            self._registry = self._collect_kinds()
        return self._registry

    def _collect_kinds(self) -> KindRegistry:
        infos: dict[str, KindInfo] = {}
        hook = self._pm.hook.promorules_register_kinds
        for impl in hook.get_hookimpls():
            source = self._sources.get(id(impl.plugin), impl.plugin_name)

            def register(kind: Kind, _source: str = source) -> None:
                _check_kind(kind, _source)
                if kind.name in infos:
                    raise PluginError(
                        f"kind {kind.name!r} registered twice: by {infos[kind.name].source} "
                        f"and by {_source}"
                    )
                infos[kind.name] = KindInfo(kind, _source)

            try:
                impl.function(register=register)
            except PluginError:
                raise
            except Exception as exc:  # a failing third-party hook must say who it is
                raise PluginError(
                    f"plugin {source}: promorules_register_kinds failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        return KindRegistry(dict(sorted(infos.items())))


def _check_kind(kind: object, source: str) -> None:
    if not isinstance(kind, Kind):
        raise PluginError(f"plugin {source} registered {kind!r}, which is not a promorules Kind")
    name = getattr(kind, "name", None)
    if not isinstance(name, str) or not _KIND_NAME.match(name):
        raise PluginError(f"plugin {source}: kind name {name!r} must match {_KIND_NAME.pattern}")
    config = getattr(kind, "config_type", None)
    if not (isinstance(config, type) and attrs.has(config)):
        raise PluginError(f"plugin {source}: kind {name!r} needs an attrs config_type")
    lanes = getattr(kind, "lanes", ())
    if not lanes or not all(isinstance(lane, Lane) for lane in lanes):
        raise PluginError(f"plugin {source}: kind {name!r} must declare the lanes it may use")


def _plugin_name(plugin: object) -> str:
    return str(getattr(plugin, "__name__", plugin))
