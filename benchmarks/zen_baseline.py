"""The workload's ruleset in GoRules zen-engine: the baseline a team would pick instead.

zen-engine (``pip install zen-engine``, module ``zen``; written against 2.1.3) evaluates JDM
decision graphs: JSON documents of decision tables, expression nodes and switches, in Rust.
:func:`build_graph` writes the workload's ruleset as one JDM graph, and
:func:`build_zen_pricer` wraps it in the Python glue a team would have to write around it.

Set-up, two ways (both create the decision once and evaluate it for every cart):

- ``mode="engine"``, the fastest: ``zen.ZenEngine({"loader": {"type": "static", "content":
  {KEY: graph}}})``, then ``engine.evaluate(KEY, context)`` per cart. The static loader hands
  the engine the parsed graph up front, so no loader callback runs per evaluation.
- ``mode="decision"``, the common path of zen's README: ``decision =
  zen.ZenEngine().create_decision(json_text)``, then ``decision.evaluate(context)``.

The context is a Python dict (zen also takes JSON text; see ``context="json"``).

The graph, node by node (``request`` is the input node; every node passes the context on):

1. ``flash`` -- decision table, loop over ``lines``, hit policy first: one row per flash sku
   (``sku`` equals it, and ``$nodes.request.now`` inside the window) giving its flash price;
   a last catch-all row keeps the list price. Output: ``unit``.
2. ``lineAmount`` -- expression, loop: ``amount = unit * qty``.
3. ``itemPromotions`` -- decision table, loop, keyed on ``category``: the percent-off and the
   buy-X-get-Y parameters of the line's category (catch-all row: none).
4. ``itemLane`` -- expression, loop, in priority order: the buy-2-get-1 units
   (``floor(qty / 3) * unit``), then ``floor(amount * pct / 100)``, each capped at what is left
   of the line (``min``), both measured on ``amount``. Output: ``afterItem``.
5. ``stores`` -- expression: for each merchant with a store-lane promotion, its base
   ``sum(map(filter(lines, #.merchant == 'm1'), #.afterItem))``.
6. ``ladder`` -- decision table, loop over ``stores``: one row per merchant and tier, highest
   tier first, hit policy first, so the highest tier reached wins. Output: ``ladderOff``.
7. ``storeCoupon`` -- expression, loop over ``stores``: the coupon's code in
   ``$nodes.request.codes``, its merchant and threshold, capped at what the ladder left.
8. ``platform`` -- expression, the graph's result: the order base after the store lane,
   ``min([floor(base / 30000) * 5000, 50000, base])`` for every-300-off-50, the platform
   coupon ``min([floor(base * 10 / 100), 10000, base - everyOff])``, the gift test, and the
   per-line ``afterItem`` amounts and per-merchant store discounts for the glue.

What the graph does not do, and Python does (``_glue`` below), in the default set-up:

- **Allocation.** Spreading each store and platform discount over its lines in proportion to
  their current amounts by largest remainder (7 allocations a cart: 4 store-lane, 2
  platform-lane, 1 guardrail). JDM has no allocation primitive: its expression language has
  ``map``/``filter``/``sum``/``count`` but no sort and no ``let``, and a nested closure's ``#``
  hides the outer item (``map(keys(xs), ...)`` reaches indices, but the outer index is hidden
  the same way), so one expression cannot rank a line's remainder against its siblings'.
- **The guardrail clamp.** Raising lines to their cost floor and withdrawing an order-margin
  shortfall needs the allocated per-line amounts (above) and one more allocation.
- **Catalogue facts.** List price, category, merchant and cost per sku come from a Python
  dict; the JDM way, a 1,000-row decision table looked up per line, would be far slower.
- **Time.** The glue passes the instant as epoch seconds (``now``) and the table compares
  numbers; JDM's date functions would parse a string per cart for the same answer.
- **Money.** zen computes in decimals and hands back Python ints or floats; the glue turns
  them into int minor units (every value here is an integer below 2**53: nothing is lost).
- **Gift line.** The graph says whether the gift is granted; the glue appends the line.

Allocation and the clamp *can* be forced into JDM, and ``allocate_in_graph=True`` does it
to measure the cost: a loop-mode expression node sees its siblings through
``$nodes.<node>.lines``, so a line's rank is
``count($nodes.S.lines, #.rem > rem or (#.rem == rem and #.i < i))``, with the line index
``i`` passed in by the glue. Each allocation takes five nodes (weights, totals, shares and
remainders, leftover, parts) and is O(n^2) in the lines; the whole graph grows from 9 to 48
nodes. It computes what the Python glue computes, at several times the cost of the Python
glue at 10 lines and about 25 times at 100 (see ``benchmarks/README.md``), which is why the
fastest set-up leaves allocation to Python.

Everything else -- the flash lookup, the category and buy-X-get-Y lookups, the item-lane caps
and priority order, the merchant bases, the ladder tier selection, both coupons, the capped
repeating reduction and the gift threshold -- is in the graph. The graph is generated from the
workload's data, but its shape is specialised to this ruleset's kinds of promotion.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

from benchmarks.workload import (
    BuyXGetYFree,
    Cart,
    CategoryPercentOff,
    EveryXOffY,
    LadderTiers,
    PlatformPercentCoupon,
    StoreCoupon,
    Workload,
    allocate,
)

try:
    import zen
except ImportError:  # pragma: no cover - depends on the environment
    zen = None  # type: ignore[assignment]

ZEN_MISSING = (
    "zen-engine is not installed: the GoRules baseline is skipped. "
    "Install it with: pip install -e '.[bench]'  (or: pip install zen-engine)"
)
DECISION_KEY = "promotions.json"


def zen_available() -> bool:
    """Whether the ``zen`` module (the zen-engine package) can be imported."""
    return zen is not None


def zen_version() -> str:
    """The installed zen-engine version, or ``"not installed"``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zen-engine")
    except PackageNotFoundError:
        return "not installed"


class ZenResult(NamedTuple):
    """A priced cart, in the same shape as :data:`benchmarks.workload.Priced`."""

    list_total: int
    discount: int
    payable: int
    lines: tuple[int, ...]
    gift: bool


def _q(text: str) -> str:
    """A string literal of the ZEN expression language."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class _GraphBuilder:
    """Collects JDM nodes and chains them with edges, in order."""

    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = [
            {"id": "request", "name": "request", "type": "inputNode", "position": {"x": 0, "y": 0}}
        ]
        self.edges: list[dict[str, str]] = []
        self._ids = 0

    def _id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids}"

    def _add(self, name: str, kind: str, content: dict[str, Any]) -> None:
        previous = self.nodes[-1]["id"]
        x = 200 * len(self.nodes)
        self.nodes.append(
            {
                "id": name,
                "name": name,
                "type": kind,
                "content": content,
                "position": {"x": x, "y": 0},
            }
        )
        self.edges.append(
            {"id": self._id("e"), "type": "edge", "sourceId": previous, "targetId": name}
        )

    def expression(
        self,
        name: str,
        expressions: list[tuple[str, str]],
        loop_over: str | None = None,
        pass_through: bool = True,
    ) -> None:
        content: dict[str, Any] = {
            "expressions": [
                {"id": self._id("x"), "key": key, "value": value} for key, value in expressions
            ],
            "passThrough": pass_through,
        }
        if loop_over:
            content.update(inputField=loop_over, outputPath=loop_over, executionMode="loop")
        self._add(name, "expressionNode", content)

    def table(
        self,
        name: str,
        loop_over: str,
        inputs: list[tuple[str, str | None]],
        outputs: list[str],
        rules: list[tuple[list[str], list[str]]],
    ) -> None:
        """A first-hit decision table in loop mode; ``inputs`` are (name, field or None)."""
        in_ids = [self._id("i") for _ in inputs]
        out_ids = [self._id("o") for _ in outputs]
        rows = []
        for conditions, results in rules:
            row = {"_id": self._id("r")}
            row.update(zip(in_ids, conditions, strict=True))
            row.update(zip(out_ids, results, strict=True))
            rows.append(row)
        content = {
            "hitPolicy": "first",
            "inputField": loop_over,
            "outputPath": loop_over,
            "executionMode": "loop",
            "passThrough": True,
            "inputs": [
                {"id": i, "name": n, **({"field": f} if f else {})}
                for i, (n, f) in zip(in_ids, inputs, strict=True)
            ],
            "outputs": [
                {"id": o, "name": n, "field": n} for o, n in zip(out_ids, outputs, strict=True)
            ],
            "rules": rows,
        }
        self._add(name, "decisionTableNode", content)

    def allocate(self, tag: str, amount: str, weight: str, sign: int) -> None:
        """Largest-remainder allocation of ``amount`` over ``lines`` by ``weight``, in JDM.

        ``amount`` is an expression on the whole context, ``weight`` one on a line. Each line's
        ``cur`` moves by its part (``sign`` -1 takes a discount off, +1 gives back). A line's
        rank among the remainders is counted against every other line through
        ``$nodes``, the one way a loop node can see its siblings: O(n^2) per allocation.
        """
        self.expression(f"{tag}W", [("w", weight)], loop_over="lines")
        self.expression(
            f"{tag}T",
            [("total", "sum(map(lines, #.w))"), ("amt", f"min([{amount}, $.total])")],
        )
        t = f"$nodes.{tag}T"
        self.expression(
            f"{tag}S",
            [
                ("share", f"{t}.total > 0 ? floor({t}.amt * w / {t}.total) : 0"),
                ("rem", f"{t}.total > 0 ? {t}.amt * w % {t}.total : 0"),
            ],
            loop_over="lines",
        )
        self.expression(f"{tag}L", [("left", f"{t}.amt - sum(map(lines, #.share))")])
        rank = f"count($nodes.{tag}S.lines, #.rem > rem or (#.rem == rem and #.i < i))"
        op = "-" if sign < 0 else "+"
        self.expression(
            f"{tag}P",
            [("cur", f"cur {op} (share + ({rank} < $nodes.{tag}L.left ? 1 : 0))")],
            loop_over="lines",
        )

    def graph(self) -> dict[str, Any]:
        return {
            "contentType": "application/vnd.gorules.decision",
            "nodes": self.nodes,
            "edges": self.edges,
        }


def build_graph(workload: Workload, allocate_in_graph: bool = False) -> dict[str, Any]:
    """The workload's ruleset as one JDM decision graph (see the module docstring).

    With ``allocate_in_graph`` the graph also allocates and clamps, and returns per-line
    payables; without it, it returns the lane amounts for the Python glue to allocate.
    """
    rs = workload.ruleset
    g = _GraphBuilder()

    # 1. Price lane: the flash price table.
    start, end = int(rs.flash.start.timestamp()), int(rs.flash.end.timestamp())
    window = f"$nodes.request.now >= {start} and $nodes.request.now < {end}"
    flash_rows = [([_q(sku), window], [str(p)]) for sku, p in sorted(rs.flash.prices.items())]
    flash_rows.append((["", ""], ["price"]))
    g.table("flash", "lines", [("sku", "sku"), ("window", None)], ["unit"], flash_rows)
    g.expression("lineAmount", [("amount", "unit * qty")], loop_over="lines")

    # 2. Item lane: a table of per-category parameters, then the capped steps in priority order.
    pct: dict[str, int] = {}
    bxgy: dict[str, tuple[int, int]] = {}
    for promo in rs.item:
        if isinstance(promo, CategoryPercentOff):
            pct[promo.category] = promo.percent
        elif isinstance(promo, BuyXGetYFree):
            bxgy[promo.category] = (promo.buy + promo.free, promo.free)
            # The graph applies buy-X-get-Y before the percent-offs, as this ruleset orders them.
            later = [p.priority for p in rs.item if isinstance(p, CategoryPercentOff)]
            assert all(promo.priority > p for p in later), "graph assumes bxgy comes first"
    item_rows = []
    for category in sorted(set(pct) | set(bxgy)):
        every, free = bxgy.get(category, (0, 0))
        item_rows.append(([_q(category)], [str(pct.get(category, 0)), str(every), str(free)]))
    item_rows.append(([""], ["0", "0", "0"]))
    g.table(
        "itemPromotions",
        "lines",
        [("category", "category")],
        ["pct", "bxgyEvery", "bxgyFree"],
        item_rows,
    )
    g.expression(
        "itemLane",
        [
            (
                "bxgyOff",
                "bxgyEvery > 0 ? min([floor(qty / bxgyEvery) * bxgyFree * unit, amount]) : 0",
            ),
            ("pctOff", "min([floor(amount * pct / 100), amount - $.bxgyOff])"),
            ("afterItem", "amount - $.bxgyOff - $.pctOff"),
        ],
        loop_over="lines",
    )

    # 3. Store lane: merchant bases, the ladder table, the store coupon.
    ladders = [p for p in rs.store if isinstance(p, LadderTiers)]
    coupons = [p for p in rs.store if isinstance(p, StoreCoupon)]
    merchants = sorted({p.merchant for p in rs.store})
    store_list = ", ".join(
        f"{{merchant: {_q(m)}, base: sum(map(filter(lines, #.merchant == {_q(m)}), #.afterItem))}}"
        for m in merchants
    )
    g.expression("stores", [("stores", f"[{store_list}]")])
    ladder_rows = []
    for ladder in ladders:
        for threshold, off in reversed(ladder.tiers):
            ladder_rows.append(([_q(ladder.merchant), f">= {threshold}"], [f"min([{off}, base])"]))
    ladder_rows.append((["", ""], ["0"]))
    g.table(
        "ladder", "stores", [("merchant", "merchant"), ("base", "base")], ["ladderOff"], ladder_rows
    )
    assert all(c.priority < min(x.priority for x in ladders) for c in coupons), (
        "graph assumes store coupons come after the ladders"
    )
    coupon_terms = [
        f"merchant == {_q(c.merchant)} and {_q(c.code)} in $nodes.request.codes "
        f"and base >= {c.threshold} ? min([{c.off}, base - ladderOff]) : "
        for c in coupons
    ]
    g.expression("storeCoupon", [("couponOff", "".join(coupon_terms) + "0")], loop_over="stores")

    # 4. Platform lane.
    every_step = next(p for p in rs.platform if isinstance(p, EveryXOffY))
    step, off, cap = every_step.step, every_step.off, every_step.cap
    plat = next(p for p in rs.platform if isinstance(p, PlatformPercentCoupon))
    assert every_step.priority > plat.priority, "graph assumes the reduction before the coupon"
    g.expression(
        "platform",
        [
            ("amounts", "map(lines, #.afterItem)"),
            ("ladderOff", "map(stores, #.ladderOff)"),
            ("couponOff", "map(stores, #.couponOff)"),
            ("base", "sum($.amounts) - sum($.ladderOff) - sum($.couponOff)"),
            ("everyOff", f"min([floor($.base / {step}) * {off}, {cap}, $.base])"),
            (
                "platformCouponOff",
                f"{_q(plat.code)} in codes ? "
                f"min([floor($.base * {plat.percent} / 100), {plat.cap}, $.base - $.everyOff]) : 0",
            ),
            ("gift", f"$.base >= {rs.gift.threshold}"),
        ],
        pass_through=allocate_in_graph,
    )
    if not allocate_in_graph:
        return g.graph()

    # 5. Allocation and the guardrail, in the graph (see "in_graph" in the module docstring).
    g.expression("cur", [("cur", "afterItem")], loop_over="lines")
    for merchant, key, k in _store_steps(workload):
        g.allocate(f"{key}{k}", f"{key}[{k}]", f"merchant == {_q(merchant)} ? cur : 0", -1)
    g.allocate("every", "everyOff", "cur", -1)
    g.allocate("platformCoupon", "platformCouponOff", "cur", -1)
    guard = rs.guardrail
    g.expression(
        "lineFloor",
        [("cur", f"max([cur, ceil(cost * qty * 100 / {100 - guard.min_line_margin_pct})])")],
        loop_over="lines",
    )
    g.expression(
        "orderFloor",
        [
            (
                "costTotal",
                f"sum(map(lines, #.cost * #.qty)) + (gift ? {rs.gift.gift_cost} : 0)",
            ),
            ("floor", f"ceil($.costTotal * 100 / {100 - guard.min_order_margin_pct})"),
            ("short", "max([$.floor - sum(map(lines, #.cur)), 0])"),
        ],
    )
    g.allocate("clamp", "short", "price * qty - cur", 1)
    g.expression("result", [("amounts", "map(lines, #.cur)"), ("gift", "gift")], pass_through=False)
    return g.graph()


def _store_steps(workload: Workload) -> list[tuple[str, str, int]]:
    """Store-lane steps in priority order: (merchant, graph output, index in ``stores``)."""
    store = workload.ruleset.store
    merchants = sorted({p.merchant for p in store})
    return [
        (
            p.merchant,
            "ladderOff" if isinstance(p, LadderTiers) else "couponOff",
            merchants.index(p.merchant),
        )
        for p in sorted(store, key=lambda p: -p.priority)
    ]


def build_zen_pricer(
    workload: Workload,
    mode: str = "engine",
    context: str = "dict",
    allocate_in_graph: bool = False,
) -> Callable[[Cart], ZenResult]:
    """A function pricing one cart through zen-engine plus the Python glue.

    ``mode`` is ``"engine"`` (``ZenEngine`` with a static loader, ``engine.evaluate(key, ...)``)
    or ``"decision"`` (``engine.create_decision(json).evaluate(...)``). ``context`` is
    ``"dict"`` (a Python dict, converted by the binding) or ``"json"`` (JSON text).
    ``allocate_in_graph`` moves allocation and the guardrail from Python into the graph.
    """
    if zen is None:
        raise RuntimeError(ZEN_MISSING)
    graph = build_graph(workload, allocate_in_graph)
    evaluate: Callable[[Any], dict[str, Any]]
    if mode == "engine":
        engine = zen.ZenEngine({"loader": {"type": "static", "content": {DECISION_KEY: graph}}})

        def evaluate(ctx: Any) -> dict[str, Any]:
            return engine.evaluate(DECISION_KEY, ctx)["result"]

    elif mode == "decision":
        decision = zen.ZenEngine().create_decision(json.dumps(graph))

        def evaluate(ctx: Any) -> dict[str, Any]:
            return decision.evaluate(ctx)["result"]

    else:
        raise ValueError(f"mode must be 'engine' or 'decision', not {mode!r}")
    if context not in ("dict", "json"):
        raise ValueError(f"context must be 'dict' or 'json', not {context!r}")
    as_json = context == "json"
    if allocate_in_graph:
        return _thin_glue(workload, evaluate, as_json)
    return _glue(workload, evaluate, as_json)


def _thin_glue(
    workload: Workload, evaluate: Callable[[Any], dict[str, Any]], as_json: bool
) -> Callable[[Cart], ZenResult]:
    """Wrap a graph that allocates and clamps itself: catalogue in, gift line out."""
    sku_info = {
        s.sku: (s.price, s.cost, s.category, s.merchant) for s in workload.catalogue.values()
    }
    dumps = json.dumps

    def price(cart: Cart) -> ZenResult:
        lines = []
        list_total = 0
        for i, (sku, qty) in enumerate(cart.lines):
            list_price, cost, category, merchant = sku_info[sku]
            lines.append(
                {
                    "i": i,
                    "sku": sku,
                    "qty": qty,
                    "price": list_price,
                    "cost": cost,
                    "category": category,
                    "merchant": merchant,
                }
            )
            list_total += list_price * qty
        ctx = {"now": int(cart.at.timestamp()), "codes": list(cart.codes), "lines": lines}
        out = evaluate(dumps(ctx) if as_json else ctx)
        amounts = [int(a) for a in out["amounts"]]
        gift = bool(out["gift"])
        payable = sum(amounts)
        return ZenResult(
            list_total,
            list_total - payable,
            payable,
            (*amounts, 0) if gift else tuple(amounts),
            gift,
        )

    return price


def _glue(
    workload: Workload, evaluate: Callable[[Any], dict[str, Any]], as_json: bool
) -> Callable[[Cart], ZenResult]:
    """Wrap ``evaluate`` in the catalogue lookups, allocation, guardrail and gift line."""
    rs = workload.ruleset
    sku_info = {
        s.sku: (s.price, s.cost, s.category, s.merchant) for s in workload.catalogue.values()
    }
    store_steps = _store_steps(workload)
    gift_cost = rs.gift.gift_cost
    line_margin = rs.guardrail.min_line_margin_pct
    order_margin = rs.guardrail.min_order_margin_pct
    dumps = json.dumps

    def price(cart: Cart) -> ZenResult:
        lines = []
        list_amounts = []
        line_merchants = []
        floors = []
        cost_total = 0
        for sku, qty in cart.lines:
            list_price, cost, category, merchant = sku_info[sku]
            lines.append(
                {
                    "sku": sku,
                    "qty": qty,
                    "price": list_price,
                    "category": category,
                    "merchant": merchant,
                }
            )
            list_amounts.append(list_price * qty)
            line_merchants.append(merchant)
            line_cost = cost * qty
            cost_total += line_cost
            floors.append(-(-line_cost * 100 // (100 - line_margin)))
        ctx = {"now": int(cart.at.timestamp()), "codes": list(cart.codes), "lines": lines}
        out = evaluate(dumps(ctx) if as_json else ctx)

        amounts = [int(a) for a in out["amounts"]]
        n = len(amounts)
        for merchant, key, k in store_steps:
            disc = int(out[key][k])
            if disc:
                idx = [i for i in range(n) if line_merchants[i] == merchant]
                current = [amounts[i] for i in idx]
                left = sum(current)
                for i, part in zip(idx, allocate(min(disc, left), current), strict=True):
                    amounts[i] -= part
        for key in ("everyOff", "platformCouponOff"):
            disc = int(out[key])
            if disc:
                parts = allocate(min(disc, sum(amounts)), amounts)
                for i in range(n):
                    amounts[i] -= parts[i]

        gift = bool(out["gift"])
        for i in range(n):
            if amounts[i] < floors[i]:
                amounts[i] = floors[i]
        if gift:
            cost_total += gift_cost
        order_floor = -(-cost_total * 100 // (100 - order_margin))
        payable = sum(amounts)
        if payable < order_floor:
            given = [list_amounts[i] - amounts[i] for i in range(n)]
            parts = allocate(min(order_floor - payable, sum(given)), given)
            for i in range(n):
                amounts[i] += parts[i]
            payable = sum(amounts)
        list_total = sum(list_amounts)
        return ZenResult(
            list_total,
            list_total - payable,
            payable,
            (*amounts, 0) if gift else tuple(amounts),
            gift,
        )

    return price
