"""The ``flash_sale`` kind: a flash price for a window, with a stock cap and a per-customer limit.

Config::

    kind = "flash_sale"
    phases = ["explosion"]             # or window = { start = ..., end = ... } (required)
    prices = { "LUMI-SERUM" = "199.00" }   # per sku, and/or
    percent = "30%"                    # off list for every other sku in scope
    stock = 500                        # flash units per sku (optional)
    total_stock = 2000                 # flash units across all skus (optional)
    per_customer = 2                   # flash units per customer and sku (optional)

Units beyond the stock left or the customer's remaining quantity pay the normal price
(or the next price the price lane offers); the explanation says how many and why
(reason ``sold-out`` or ``limit-reached``). What is left comes from the ledger
snapshot (``FLASH_STOCK`` per sku, subject ``""`` for the total, and
``FLASH_CUSTOMER_UNITS`` per ``"<customer>/<sku>"``); with no ledger attached, the
declared caps. Only units that win the flash price consume those counters. A
customer without an id is held to ``per_customer`` within the cart only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from promorules import hookimpl
from promorules.counters import ANY_SUBJECT, CounterKey, CounterKind, CounterSpec, Subject
from promorules.diagnostics import Problem
from promorules.kind import (
    QUIET,
    Bound,
    CompileEnv,
    Evaluator,
    Kind,
    Lane,
    NotApplied,
    Offer,
    PricingState,
    Reason,
)
from promorules.messages import Amount as Minor
from promorules.messages import Note
from promorules.model import Rule, bound
from promorules.ruleset import Amount, Promotion, Rate
from promorules_plugins.unitprice import PriceTable, check_prices, unit_prices


@attrs.frozen
class FlashSaleConfig:
    prices: dict[str, Amount] = attrs.field(factory=dict)
    """The flash unit price per sku: ``{ "LUMI-SERUM" = "199.00" }``."""
    percent: Rate | None = None
    """A share off the list price of every other sku in scope."""
    stock: int | None = None
    """Flash units per sku."""
    total_stock: int | None = None
    """Flash units across every sku of the promotion."""
    per_customer: int | None = None
    """Flash units one customer may buy, per sku."""


class FlashSale(Kind):
    name = "flash_sale"
    config_type = FlashSaleConfig
    lanes = (Lane.PRICE,)
    summary = "flash sale: a flash price per sku in a window, with stock and per-customer caps"

    def check(self, promotion: Promotion) -> Iterable[Problem]:
        config: FlashSaleConfig = promotion.config
        yield from check_prices(config.prices, config.percent)
        if promotion.window is None and not promotion.phases:
            yield Problem("PR203", "a flash sale needs a window or phases", ("window",))
        for field in ("stock", "total_stock", "per_customer"):
            value = getattr(config, field)
            if value is not None and value < 1:
                yield Problem("PR203", f"{field} must be at least 1", (field,))

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        config: FlashSaleConfig = promotion.config
        pid = promotion.id
        table = PriceTable(config.prices, config.percent, env.rounding)
        stock, total_stock, per_customer = config.stock, config.total_stock, config.per_customer
        total_key = CounterKey(CounterKind.FLASH_STOCK, pid, "")

        # the stock counter of each sku, named once (a race at worst names one twice)
        stock_keys: dict[str, CounterKey] = {}

        # no stock and no per-customer limit: each line offers all its units at its price,
        # and no unit consumes a counter (no keys, no caps)
        uncapped = stock is None and total_stock is None and per_customer is None

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            if uncapped and not state.explain:
                prices = table.below_list(state, lines)
                return Offer(unit_prices=prices) if prices else QUIET
            availability = state.availability
            customer = state.customer.id
            # what is left, shared by every line of the cart (two lines may hold one sku)
            stock_left: dict[str, int] = {}
            customer_left: dict[str, int] = {}
            total_left: int | None = None
            if total_stock is not None:
                found = availability.remaining(total_key)
                total_left = total_stock if found is None else max(found, 0)
            offered: list[tuple[int, int, int]] = []
            counters: list[tuple[CounterKey, ...]] = []
            notes: list[Note] = []
            limited: list[Note] = []
            reason: Reason | None = None
            base = 0
            for i in lines:
                sku = state.lines[i].sku
                list_unit, qty = state.list_unit[i], state.qty[i]
                price = table.price(sku, list_unit)
                if price is None:
                    continue
                if price >= list_unit:
                    if state.explain:
                        notes.append(
                            Note(
                                "flash-not-below-list",
                                {"sku": sku, "price": Minor(price), "list": Minor(list_unit)},
                            )
                        )
                    continue
                keys: list[CounterKey] = []
                # (units left, why fewer); worded only when a cap bites
                caps: list[tuple[int, Reason]] = []
                if stock is not None:
                    key = stock_keys.get(sku)
                    if key is None:
                        key = stock_keys[sku] = CounterKey(CounterKind.FLASH_STOCK, pid, sku)
                    if sku not in stock_left:
                        found = availability.remaining(key)
                        stock_left[sku] = stock if found is None else max(found, 0)
                    keys.append(key)
                    caps.append((stock_left[sku], Reason.SOLD_OUT))
                if total_left is not None:
                    keys.append(total_key)
                    caps.append((total_left, Reason.SOLD_OUT))
                if per_customer is not None:
                    found = None
                    if customer:
                        key = CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, pid, (customer, sku))
                        keys.append(key)
                        found = availability.remaining(key)
                    if sku not in customer_left:
                        customer_left[sku] = per_customer if found is None else max(found, 0)
                    caps.append((customer_left[sku], Reason.LIMIT_REACHED))
                units = qty
                for cap, cap_reason in caps:
                    if cap < units:
                        units, reason = cap, cap_reason
                if stock is not None:
                    stock_left[sku] -= units
                if total_left is not None:
                    total_left -= units
                if per_customer is not None:
                    customer_left[sku] -= units
                if units < qty and state.explain:
                    # not "at the normal price": another price of the lane (a member
                    # price) may still reach those units; this offer cannot know
                    if reason is Reason.SOLD_OUT:
                        limited.append(
                            Note(
                                "flash-sold-out", {"sku": sku, "units": qty - units, "left": units}
                            )
                        )
                    else:
                        assert per_customer is not None
                        limited.append(
                            Note(
                                "flash-limit-reached",
                                {
                                    "sku": sku,
                                    "units": qty - units,
                                    "left": units,
                                    "limit": per_customer,
                                },
                            )
                        )
                if units > 0:
                    offered.append((i, price, units))
                    counters.append(tuple(keys))
                    base += list_unit * units
                    if state.explain:
                        notes.append(
                            Note("flash-price", {"sku": sku, "price": Minor(price), "units": units})
                        )
            if not offered:
                if not state.explain:
                    return QUIET
                if limited:
                    return NotApplied(reason or Reason.SOLD_OUT, tuple(limited))
                return NotApplied(Reason.NO_ELIGIBLE_LINES, tuple(notes) or (_NO_FLASH_PRICE,))
            return Offer(
                base=base,
                unit_prices=offered,
                unit_counters=counters,
                notes=(*limited, *notes),
                reason=reason if limited else None,
            )

        return evaluate

    def rule(self, promotion: Promotion, env: CompileEnv) -> Rule | None:
        config: FlashSaleConfig = promotion.config
        if config.stock is not None or config.total_stock is not None:
            return None  # its units consume stock: the evaluator counts them
        if config.per_customer is not None:
            return None  # and per-customer units
        return Rule(unit_prices(config.prices, config.percent))

    def reach(self, promotion: Promotion) -> frozenset[str] | None:
        config: FlashSaleConfig = promotion.config
        # fixed prices alone: no other sku has one
        return frozenset(config.prices) if config.percent is None else None

    def bound(self, promotion: Promotion) -> Bound:
        config: FlashSaleConfig = promotion.config
        return bound(Rule(unit_prices(config.prices, config.percent)))

    def counters(self, promotion: Promotion) -> Iterable[CounterSpec]:
        config: FlashSaleConfig = promotion.config
        pid = promotion.id
        if config.stock is not None:
            skus: list[Subject] = [*sorted(set(config.prices) | set(promotion.skus))]
            if config.percent is not None and not promotion.skus:
                skus.append(ANY_SUBJECT)  # any sku in scope: one counter each, on first use
            for sku in skus:
                yield CounterSpec(CounterKey(CounterKind.FLASH_STOCK, pid, sku), config.stock)
        if config.total_stock is not None:
            yield CounterSpec(CounterKey(CounterKind.FLASH_STOCK, pid, ""), config.total_stock)
        if config.per_customer is not None:
            yield CounterSpec(
                CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, pid, ANY_SUBJECT), config.per_customer
            )


_NO_FLASH_PRICE = Note("no-flash-price")


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(FlashSale())
