"""A JSON Schema of the ruleset format, built from the same attrs classes the loader uses.

The schema follows the model rather than restating it: the campaign, guardrails,
stacking, budgets and catalogue tables come from :mod:`promorules.ruleset`, and each
promotion kind contributes its own ``config_type``, so a plugin's fields are in the
schema as soon as the plugin is installed. Editors that validate TOML against a JSON
Schema (Taplo / Even Better TOML, for instance) then flag an unknown key or a
misspelt enum while a planner types. Field descriptions are the attribute docstrings.

TOML date-times have no JSON counterpart: they appear as strings, which is how TOML
tooling hands them to a JSON Schema validator.
"""

from __future__ import annotations

import ast
import enum
import inspect
import itertools
import textwrap
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from promorules.goals import Goals
from promorules.kind import Kind
from promorules.ruleset import (
    COMMON_KEYS,
    Amount,
    Campaign,
    CatalogFacts,
    Funder,
    Guardrails,
    Promotion,
    Rate,
    Stacking,
    resolve_types,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
AMOUNT = {
    "description": 'an amount in the campaign currency: "299.00" or 299 (no floats)',
    "anyOf": [{"type": "string", "pattern": r"^\s*[+-]?\d+(\.\d+)?\s*$"}, {"type": "integer"}],
}
RATE = {
    "description": 'a percent: "12.5%"',
    "type": "string",
    "pattern": r"^\s*[+-]?\d+(\.\d+)?\s*%$",
}
MOMENT = {
    "description": "a TOML date-time; local times are in the campaign's time zone",
    "type": "string",
}


class _Builder:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}
        self.names: dict[type[Any], str] = {}

    def type_schema(self, tp: Any) -> dict[str, Any]:
        if tp is Amount:
            return dict(AMOUNT)
        if tp is Rate:
            return dict(RATE)
        if tp is datetime:
            return dict(MOMENT)
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if tp is str:
            return {"type": "string", "maxLength": 1000}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"enum": [m.value for m in tp]}
        if isinstance(tp, type) and attrs.has(tp):
            return {"$ref": f"#/$defs/{self.define(tp)}"}
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            # TOML has no null: an optional field is one that may be left out
            options = [self.type_schema(a) for a in args if a is not type(None)]
            return options[0] if len(options) == 1 else {"anyOf": options}
        if origin is tuple:
            return {"type": "array", "items": self.type_schema(args[0]) if args else {}}
        if origin is dict:
            key, value = args if len(args) == 2 else (str, Any)
            out: dict[str, Any] = {
                "type": "object",
                "additionalProperties": self.type_schema(value),
            }
            if isinstance(key, type) and issubclass(key, enum.Enum):
                out["propertyNames"] = {"enum": [m.value for m in key]}
            return out
        return {}

    def define(self, cls: type[Any]) -> str:
        name = self.names.get(cls)
        if name is not None:
            return name
        name = cls.__name__
        while name in self.defs:
            name = f"{cls.__module__.rsplit('.', 1)[-1]}.{name}"
        self.names[cls] = name
        self.defs[name] = {}  # reserve: a class may refer to itself
        self.defs[name] = self.table(cls)
        return name

    def properties(
        self, cls: type[Any], skip: frozenset[str] = frozenset()
    ) -> tuple[dict[str, Any], list[str]]:
        resolve_types(cls)
        docs = field_docs(cls)
        props: dict[str, Any] = {}
        required: list[str] = []
        for field in attrs.fields(cls):
            if field.name in skip:
                continue
            schema = self.type_schema(field.type)
            doc = docs.get(field.name)
            if doc:
                schema = {**schema, "description": doc}
            default = _json_default(field.default)
            if default is not None:
                schema = {**schema, "default": default}
            props[field.name] = schema
            if field.default is attrs.NOTHING:
                required.append(field.name)
        return props, required

    def table(self, cls: type[Any], skip: frozenset[str] = frozenset()) -> dict[str, Any]:
        props, required = self.properties(cls, skip)
        out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
        if required:
            out["required"] = required
        doc = inspect.getdoc(cls)
        if doc:
            out["description"] = doc.split("\n\n")[0]
        return out


def _json_default(default: Any) -> Any:
    if default is attrs.NOTHING or isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return None
    if isinstance(default, enum.Enum):
        return default.value
    if isinstance(default, bool | int | str) and not isinstance(default, enum.Enum):
        return default if default != "" else None
    return None


def field_docs(cls: type[Any]) -> dict[str, str]:
    """Attribute docstrings (a string literal right after a field) of an attrs class."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    out: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            out[node.target.id] = " ".join(after.value.value.split())
    return out


def ruleset_schema(kinds: Mapping[str, Kind]) -> dict[str, Any]:
    """The JSON Schema of a ruleset for the given kinds."""
    builder = _Builder()
    common, _ = builder.properties(Promotion, frozenset({"config"}))
    common["kind"] = {"enum": sorted(kinds), "description": "the promotion kind"}
    branches = []
    for name in sorted(kinds):
        kind = kinds[name]
        own, own_required = builder.properties(kind.config_type)
        own = {k: v for k, v in own.items() if k not in COMMON_KEYS}
        then: dict[str, Any] = {
            "properties": {**common, **own},
            "additionalProperties": False,
        }
        required = ["id", "kind", *(r for r in own_required if r not in COMMON_KEYS)]
        then["required"] = required
        if kind.summary:
            then["description"] = f"{name}: {kind.summary}"
        branches.append(
            {"if": {"properties": {"kind": {"const": name}}, "required": ["kind"]}, "then": then}
        )
    promotion: dict[str, Any] = {
        "type": "object",
        "required": ["id", "kind"],
        "properties": {"id": common["id"], "kind": common["kind"]},
        "allOf": branches,
    }
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "title": "promorules ruleset",
        "description": "A campaign, its margin guardrails and its promotions (docs/rulesets.md).",
        "type": "object",
        "additionalProperties": False,
        "required": ["campaign"],
        "properties": {
            "campaign": builder.type_schema(Campaign),
            "guardrails": builder.type_schema(Guardrails),
            "stacking": builder.type_schema(Stacking),
            "budgets": builder.type_schema(dict[Funder, Amount]),
            "catalog": builder.type_schema(CatalogFacts),
            "goals": builder.type_schema(Goals),
            "promotion": {"type": "array", "items": promotion},
        },
    }
    schema["$defs"] = builder.defs
    return schema
