"""The plugin contract: every hook a promorules plugin may implement.

A plugin is a module (or object) with functions marked ``@promorules.hookimpl``. It is
found through the ``promorules`` entry-point group (built-in and third-party plugins
alike) or handed to :class:`promorules.plugins.PluginHost` explicitly
(``PluginHost(plugins=[module])``). Hooks are
called only while an engine is being built, never while a cart is priced: pricing runs
on the compiled form of each promotion (see :mod:`promorules.kind`).

Hook names must start with ``promorules_``; an implementation whose name matches no
spec here fails at load time instead of being silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from promorules.kind import Kind

PROJECT = "promorules"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def promorules_register_kinds(register: Callable[[Kind], None]) -> None:
    """Register the promotion kinds this plugin provides.

    :param register: call it once per kind, with a :class:`promorules.kind.Kind`
        instance. The host checks the kind (a unique, well-formed name; a config
        class built with attrs; lanes it may sit in) and raises
        :class:`promorules.plugins.PluginError` naming the plugin when a check fails,
        including when two plugins register the same kind name.
    :return: nothing; kinds reach the host only through ``register``.
    """
