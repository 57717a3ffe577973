"""The plugin contract: documented hooks, load-time failures, no global state."""

from __future__ import annotations

import inspect
import subprocess
import sys
import types
from collections.abc import Callable

import attrs
import pytest

from promorules import hookimpl, hookspecs
from promorules.kind import Kind, Lane
from promorules.plugins import PluginError, PluginHost
from promorules_plugins import tiered


def hook_specs() -> list[Callable[..., object]]:
    return [
        fn
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("promorules_") and hasattr(fn, f"{hookspecs.PROJECT}_spec")
    ]


def test_there_are_hooks_and_every_public_function_is_one() -> None:
    names = [fn.__name__ for fn in hook_specs()]
    assert "promorules_register_kinds" in names
    loose = [
        name
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("promorules_") and name not in names
    ]
    assert loose == [], "functions in hookspecs named like hooks but not marked @hookspec"


@pytest.mark.parametrize("spec", hook_specs(), ids=lambda fn: fn.__name__)
def test_every_hook_is_documented(spec: Callable[..., object]) -> None:
    doc = inspect.getdoc(spec)
    assert doc, f"{spec.__name__} has no docstring"
    summary = doc.splitlines()[0]
    assert summary.strip() and summary.rstrip().endswith("."), "a one-sentence summary first"
    for parameter in inspect.signature(spec).parameters:
        assert f":param {parameter}:" in doc, f"{spec.__name__}: argument {parameter} undocumented"
    assert ":return:" in doc, f"{spec.__name__}: return value undocumented"


# ----------------------------------------------------------------------------- helpers


@attrs.frozen
class NoConfig:
    pass


def make_kind(name: str, config: object = NoConfig, lanes: object = (Lane.STORE,)) -> Kind:
    cls = type(
        f"Kind_{name}",
        (Kind,),
        {"name": name, "config_type": config, "lanes": lanes, "summary": "a test kind"},
    )
    kind: Kind = cls()
    return kind


def plugin_module(module_name: str, *registered: object) -> types.ModuleType:
    """A plugin module whose hook registers ``registered``."""
    module = types.ModuleType(module_name)

    @hookimpl
    def promorules_register_kinds(register: Callable[[object], None]) -> None:
        for item in registered:
            register(item)

    module.promorules_register_kinds = promorules_register_kinds  # type: ignore[attr-defined]
    return module


# ----------------------------------------------------------------------------- failures


def test_a_misspelt_hook_fails_at_load_naming_it() -> None:
    module = types.ModuleType("typo_plugin")

    @hookimpl
    def promorules_register_kind(register: Callable[[object], None]) -> None:
        register(make_kind("typo"))  # pragma: no cover - never called

    module.promorules_register_kind = promorules_register_kind  # type: ignore[attr-defined]
    with pytest.raises(PluginError) as caught:
        PluginHost(plugins=[module])
    message = str(caught.value)
    assert "promorules_register_kind" in message
    assert "typo_plugin" in message


def test_a_hook_without_its_marker_fails_at_load() -> None:
    module = types.ModuleType("unmarked_plugin")

    def promorules_register_kinds(register: Callable[[object], None]) -> None:
        register(make_kind("unmarked"))  # pragma: no cover - never called

    module.promorules_register_kinds = promorules_register_kinds  # type: ignore[attr-defined]
    with pytest.raises(PluginError, match=r"unmarked_plugin: promorules_register_kinds .*hookimpl"):
        PluginHost(plugins=[module])


def test_a_hook_with_a_wrong_argument_fails_at_load() -> None:
    module = types.ModuleType("argument_plugin")

    @hookimpl
    def promorules_register_kinds(registr: Callable[[object], None]) -> None:
        pass  # pragma: no cover - never called

    module.promorules_register_kinds = promorules_register_kinds  # type: ignore[attr-defined]
    with pytest.raises(PluginError, match="argument_plugin"):
        PluginHost(plugins=[module])


def test_two_plugins_registering_one_kind_name_are_both_named() -> None:
    first = plugin_module("first_plugin", make_kind("twin"))
    second = plugin_module("second_plugin", make_kind("twin"))
    with pytest.raises(PluginError) as caught:
        _ = PluginHost(plugins=[first, second]).kinds
    message = str(caught.value)
    assert "'twin'" in message
    assert "first_plugin" in message
    assert "second_plugin" in message


def test_a_kind_clashing_with_the_built_in_one_is_refused() -> None:
    clash = plugin_module("clash_plugin", make_kind("tiered"))
    with pytest.raises(PluginError, match=r"promorules_plugins\.tiered.*clash_plugin"):
        _ = PluginHost(plugins=[tiered, clash]).kinds


@pytest.mark.parametrize(
    ("registered", "fragment"),
    [
        (object(), "not a promorules Kind"),
        ("tiered", "not a promorules Kind"),
        (tiered.Tiered, "not a promorules Kind"),  # the class, not an instance
        (make_kind("plain_config", config=dict), "needs an attrs config_type"),
        (make_kind("no_config", config=None), "needs an attrs config_type"),
        (make_kind("Bad-Name"), "kind name 'Bad-Name' must match"),
        (make_kind("no_lanes", lanes=()), "must declare the lanes"),
        (make_kind("string_lanes", lanes=("store",)), "must declare the lanes"),
    ],
)
def test_an_invalid_registration_is_a_plugin_error(registered: object, fragment: str) -> None:
    plugin = plugin_module("bad_plugin", registered)
    with pytest.raises(PluginError, match="bad_plugin") as caught:
        _ = PluginHost(plugins=[plugin]).kinds
    assert fragment in str(caught.value)


def test_a_hook_that_raises_becomes_a_plugin_error_naming_the_plugin() -> None:
    module = types.ModuleType("crashing_plugin")

    @hookimpl
    def promorules_register_kinds(register: Callable[[object], None]) -> None:
        raise RuntimeError("boom")

    module.promorules_register_kinds = promorules_register_kinds  # type: ignore[attr-defined]
    with pytest.raises(PluginError, match=r"crashing_plugin.*RuntimeError: boom"):
        _ = PluginHost(plugins=[module]).kinds


# ----------------------------------------------------------------------------- discovery


def test_entry_point_discovery_finds_the_built_in_tiered_kind() -> None:
    kinds = PluginHost.default().kinds
    assert "tiered" in kinds
    assert isinstance(kinds["tiered"], tiered.Tiered)
    assert kinds.info("tiered").source.startswith("promorules_plugins.tiered (promorules ")


def test_an_explicit_plugin_list_loads_exactly_those_plugins() -> None:
    assert dict(PluginHost(plugins=[]).kinds) == {}
    extra = plugin_module("extra_plugin", make_kind("extra"))
    kinds = PluginHost(plugins=[tiered, extra]).kinds
    assert list(kinds) == ["extra", "tiered"]
    assert kinds.info("extra").source == "extra_plugin"


def test_registering_the_same_plugin_twice_is_harmless() -> None:
    assert list(PluginHost(plugins=[tiered, tiered]).kinds) == ["tiered"]


def test_hosts_share_no_state() -> None:
    one = PluginHost(plugins=[tiered])
    other = PluginHost(plugins=[plugin_module("solo_plugin", make_kind("solo"))])
    assert list(one.kinds) == ["tiered"]
    assert list(other.kinds) == ["solo"]
    assert list(PluginHost(plugins=[tiered]).kinds) == ["tiered"]
    assert one.kinds is one.kinds  # computed once per host


def test_importing_promorules_loads_no_plugin() -> None:
    code = (
        "import sys, promorules, promorules.hookspecs\n"
        "from promorules import Engine, Cart\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('promorules_plugins'))\n"
        "assert loaded == [], loaded\n"
        "assert 'promorules.plugins' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_engine_is_built_from_an_explicit_plugin_list() -> None:
    from promorules.diagnostics import RulesetError
    from promorules.engine import Engine

    text = '[campaign]\nname = "x"\ncurrency = "CNY"\ntimezone = "UTC"\n'
    text += '[[promotion]]\nid = "p"\nkind = "tiered"\nthreshold = "300"\noff = "30"\n'
    assert Engine.from_string(text, plugins=[tiered]).ruleset.promotions[0].kind == "tiered"
    with pytest.raises(RulesetError, match="installed kinds: none installed"):
        Engine.from_string(text, plugins=[])
