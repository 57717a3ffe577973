"""promorules: price carts under stackable promotions that can never break the margin floor.

The public API::

    from promorules import Engine, Cart, Line, Customer, Context

    engine = Engine.from_toml("rulesets/double11.toml")
    quote = engine.price(cart, Context(at=now, coupons=("D11-20",)))
    quote.payable, quote.lines, quote.explanations, quote.guardrail

Importing this package loads no plugin; plugins load when an engine is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from promorules.hookspecs import hookimpl

__version__ = "0.1.0"

if TYPE_CHECKING:
    from promorules.cart import Cart, Context, Customer, Line
    from promorules.diagnostics import Diagnostic, PromorulesError, RulesetError
    from promorules.engine import Engine
    from promorules.quote import Quote

_LAZY = {
    "Engine": "promorules.engine",
    "Cart": "promorules.cart",
    "Context": "promorules.cart",
    "Customer": "promorules.cart",
    "Line": "promorules.cart",
    "Quote": "promorules.quote",
    "Diagnostic": "promorules.diagnostics",
    "PromorulesError": "promorules.diagnostics",
    "RulesetError": "promorules.diagnostics",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'promorules' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "Cart",
    "Context",
    "Customer",
    "Diagnostic",
    "Engine",
    "Line",
    "PromorulesError",
    "Quote",
    "RulesetError",
    "__version__",
    "hookimpl",
]
