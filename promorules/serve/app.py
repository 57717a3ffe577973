"""The HTTP API and the planners' page, over the same engines as the Python API.

Routes (JSON in and out; :mod:`promorules.serve.openapi` documents them):

- ``POST /v1/price?ruleset=NAME``: a cart document (the keys of a cart file, see
  docs/carts.md) priced; the figures, and with ``explain=true`` every promotion's
  explanation and every code's account. ``at`` defaults to now.
- ``POST /v1/refund?ruleset=NAME``: a priced cart and the units returned; what they
  give back under a return policy (:mod:`promorules.refund`).
- ``POST /v1/validate?ruleset=NAME[&examples=N]``: ``promorules validate --format json``
  over the served catalogue.
- ``GET /v1/rulesets``: the rulesets in service, their versions and promotions;
  ``GET /v1/rulesets/NAME``: one, with its TOML text.
- ``POST /v1/diff?ruleset=NAME``: a changed ruleset's text and carts: what changes, key
  by key, and over those carts and the ``--carts`` samples (:mod:`promorules.diff`).
- ``POST /v1/rulesets/NAME[?force=true]``: a new ruleset's TOML text, with
  ``Authorization: Bearer <token>``: loaded, checked, compiled and validated off the
  request path, then swapped in (refused with its diagnostics, 422, or its verdicts,
  409, unless forced).
- ``POST /v1/simulate?ruleset=NAME``: ``promorules simulate``'s JSON report of the
  served order log (``serve --orders``).
- ``GET /v1/plugins``, ``GET /v1/schema``, ``GET /v1/catalog?q=TEXT``, ``GET /openapi.json``,
  ``GET /`` (the page).

Bad input is answered 422 with the codes and key paths the command line gives
(``{"errors": [{"code", "path", "message", "line", "column"}]}``), a body over the limit
413, an unknown ruleset 404; an unexpected failure is 500 with a reference to the
server's log, never a traceback.
"""

from __future__ import annotations

import json
import secrets
import sys
import traceback
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path as FilePath
from typing import Any

import attrs
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from promorules.cart import MAX_RESERVATION_LENGTH, Cart, Context
from promorules.cartfile import CartFile, CatalogItem, build_cart
from promorules.counters import Availability
from promorules.diagnostics import Diagnostic, PromorulesError, RulesetError
from promorules.diff import Sample
from promorules.engine import Engine
from promorules.holder import EngineHolder, Loaded, Refused, load_text
from promorules.kind import Kind
from promorules.money import format_amount
from promorules.reading import deepest, parse_json
from promorules.refund import Refund

MAX_BODY_BYTES = 1024 * 1024
"""Largest request body read (a cart of thousands of lines fits; a ruleset's text too)."""
PAGE = FilePath(__file__).with_name("page")


class _Problem(Exception):
    """An answer other than 200, raised from inside a route."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _errors(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> dict[str, Any]:
    return {
        "errors": [
            {
                "code": d.code,
                "path": d.shown_path,
                "message": d.message,
                "line": d.line,
                "column": d.column,
                "severity": d.severity.value,
            }
            for d in diagnostics
        ]
    }


def _error(code: str, message: str, path: str = "") -> dict[str, Any]:
    return {"errors": [{"code": code, "path": path, "message": message}]}


def _no_ledger() -> _Problem:
    """A reservation named to a server run without ``--ledger``."""
    return _Problem(
        422,
        _error(
            "PR301",
            "a reservation names a hold in a ledger: this server has no --ledger",
            "reservation",
        ),
    )


class Service:
    """What the routes share: the holders by name, the catalogue, the reload token."""

    def __init__(
        self,
        holders: Mapping[str, EngineHolder],
        kinds: Mapping[str, Kind],
        catalog: Mapping[str, CatalogItem] | None,
        catalog_source: str | None = None,
        token: str | None = None,
        reload_examples: int = 300,
        max_body: int = MAX_BODY_BYTES,
        samples: Sequence[Sample] = (),
        ledger: str | None = None,
        orders: str | None = None,
    ) -> None:
        if not holders:
            raise PromorulesError("serve at least one ruleset")
        self.holders = dict(holders)
        self.kinds = kinds
        self.catalog = catalog
        self.catalog_source = catalog_source
        self.token = token
        self.reload_examples = reload_examples
        self.max_body = max_body
        self.samples = tuple(samples)
        self.ledger = ledger
        self.orders = orders
        """An order log the page's simulation replays (``serve --orders``)."""
        self._simulations: dict[tuple[str, str], dict[str, Any]] = {}
        """A ledger URL: every cart priced against one consistent read of it (stock left,
        uses, budgets, pauses); None: every counter available."""
        """Carts every comparison prices (``serve --carts``), besides those it is sent."""

    # -- helpers ---------------------------------------------------------------------
    def holder(self, request: Request, name: str | None = None) -> EngineHolder:
        name = name or request.query_params.get("ruleset")
        if name is None:
            if len(self.holders) == 1:
                return next(iter(self.holders.values()))
            raise _Problem(422, _error("PR901", "several rulesets are served: give ?ruleset=NAME"))
        found = self.holders.get(name)
        if found is None:
            known = ", ".join(sorted(self.holders))
            raise _Problem(404, _error("PR902", f"no ruleset {name[:60]!r}; served: {known}"))
        return found

    async def body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise _Problem(413, _error("PR903", f"the body is over {self.max_body:,} bytes"))
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > self.max_body:
                raise _Problem(413, _error("PR903", f"the body is over {self.max_body:,} bytes"))
        return bytes(data)

    async def json_body(self, request: Request) -> tuple[Any, str]:
        """The body's JSON, and its text (to locate a problem found later). Key
        positions are worked out only for a body with a problem: most have none."""
        raw = await self.body(request)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _Problem(422, _error("PR002", "the body is not UTF-8 text")) from None
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            data = None
        if data is None or deepest(data) is not None:
            parse_json(text, "request", "a cart")  # raises the located error
        return data, text

    def cart(self, data: Any, text: str, engine: Engine) -> CartFile:
        """The request's cart; a RulesetError located in the body otherwise."""
        tz = engine.ruleset.tz
        try:
            return build_cart(data, engine.currency, tz, self.catalog, source="request")
        except RulesetError:
            _, positions = parse_json(text, "request", "a cart")
            return build_cart(
                data, engine.currency, tz, self.catalog, source="request", positions=positions
            )

    def flag(self, request: Request, name: str) -> bool:
        value = request.query_params.get(name, "false").lower()
        if value not in ("true", "false", "1", "0"):
            raise _Problem(422, _error("PR904", f"?{name} is true or false", name))
        return value in ("true", "1")

    def locale(self, request: Request) -> str:
        """The bundled locale of the answer's messages: ``?lang=`` (refused when no
        catalogue serves it), else the ``Accept-Language`` header's best, else English."""
        from promorules.messages import LocaleError, negotiate, resolve

        lang = request.query_params.get("lang")
        if lang is not None:
            try:
                return resolve(lang)
            except LocaleError as exc:
                raise _Problem(422, _error("PR904", f"?lang: {exc}", "lang")) from None
        return negotiate(request.headers.get("accept-language"))

    def judge(self, loaded: Loaded) -> None:
        """Refuse a ruleset with a lint error or a BREACHED floor (what validate exits 1 on)."""
        from promorules.validate import Options, validate
        from promorules.validate.report import EXIT_BREACHED, to_dict

        options = Options(examples=self.reload_examples, out_dir=None)
        report = validate(loaded.engine, self.catalog, options)
        if report.exit_code == EXIT_BREACHED:
            raise Refused("validate finds it BREACHED or in error", to_dict(report))

    def live(self, engine: Engine, cart: Cart, context: Context) -> Context:
        """``context`` with a snapshot of the served ledger covering what ``cart`` reads."""
        from promorules.live import live_availability

        assert self.ledger is not None

        def priced(availability: Availability) -> object:
            return engine.price(cart, attrs.evolve(context, availability=availability))

        snapshot = live_availability(self.ledger, priced, context.reservation)
        return attrs.evolve(context, availability=snapshot)

    # -- routes ----------------------------------------------------------------------
    async def price(self, request: Request) -> Response:
        holder = self.holder(request)
        explain = self.flag(request, "explain")
        locale = self.locale(request)
        data, text = await self.json_body(request)
        loaded = holder.current  # one ruleset for the whole request
        engine = loaded.engine
        found = self.cart(data, text, engine)
        at = found.at or datetime.now(engine.ruleset.tz)
        # an order that holds a reservation and prices again names it: its own holds read
        # as available (Context.reservation)
        reservation = request.query_params.get("reservation")
        if reservation is not None and self.ledger is None:
            raise _no_ledger()
        try:
            context = Context(
                at,
                found.channel,
                tuple(found.coupons),
                choices=found.choices,
                reservation=reservation,
            )
        except (TypeError, ValueError) as exc:
            raise _Problem(422, _error("PR301", str(exc))) from None
        if self.ledger is not None:  # a read of the ledger is I/O: off the event loop
            context = await run_in_threadpool(self.live, engine, found.cart, context)
        if explain:
            quote = engine.explained(found.cart, context)
        else:
            quote = engine.price(found.cart, context)
        body = quote.to_dict(explanations=explain, locale=locale)
        return JSONResponse(
            {"ruleset": _named(loaded), "at": at.isoformat(), **body},
            headers={"promorules-ruleset-version": loaded.version, "content-language": locale},
        )

    async def refund(self, request: Request) -> Response:
        """``{"cart": <cart document>, "returns": {"SKU": units}, "policy": "keep" |
        "claw-back", "shipping": "full-return" | "never" | "always", "gifts_back":
        {"SKU": units}, "reservation": KEY, "refund_id": ID}``: the cart priced as it
        was, then what the return gives back; with ``reservation`` and ``refund_id`` (a
        server run with ``--ledger``), given back to the ledger too."""
        from promorules.refund import ClawBack, ReturnPolicy, Shipping, parse_returns, refund

        holder = self.holder(request)
        body, text = await self.json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("cart"), dict):
            raise _Problem(422, _error("PR301", 'give the cart priced as {"cart": {...}}', "cart"))
        unknown = set(body) - {
            "cart",
            "returns",
            "policy",
            "shipping",
            "gifts_back",
            "reservation",
            "refund_id",
        }
        if unknown:
            raise _Problem(422, _error("PR301", "unknown key", sorted(unknown)[0][:40]))
        give_back = self.give_back_to(body)
        loaded = holder.current
        engine = loaded.engine
        found = self.cart(body["cart"], text, engine)
        if found.at is None:
            raise _Problem(422, _error("PR301", "give the moment the cart was priced", "cart.at"))
        returns: Any = body.get("returns")
        gifts_back: Any = body.get("gifts_back") or {}
        for name, value in (("returns", returns), ("gifts_back", gifts_back)):
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and type(v) is int and v > 0 for k, v in value.items()
            ):
                raise _Problem(422, _error("PR301", "a table of sku -> units (1 or more)", name))
        try:
            declared = engine.ruleset.returns
            policy = ReturnPolicy(
                ClawBack(body.get("policy", declared.remaining.value)),
                Shipping(body.get("shipping", declared.shipping.value)),
            )
        except ValueError as exc:
            raise _Problem(422, _error("PR301", str(exc), "policy")) from None
        context = Context(found.at, found.channel, tuple(found.coupons), choices=found.choices)
        quote = engine.price(found.cart, context)
        wanted = [f"{sku}={units}" for sku, units in returns.items()]
        result = refund(
            engine,
            found.cart,
            context,
            quote,
            parse_returns(wanted, found.cart),
            policy,
            gifts_back,
        )
        given: dict[str, Any] = {}
        if give_back is not None:  # the ledger is I/O: off the event loop
            given["ledger"] = await run_in_threadpool(self.give_back, give_back, result)
        money = quote.money
        return JSONResponse(
            {
                "ruleset": _named(loaded),
                **given,
                "paid": money(quote.payable),
                "lines": [
                    {"sku": r.sku, "quantity": r.quantity, "refund": money(r.amount)}
                    for r in result.lines
                ],
                "goods": money(result.goods),
                "clawed_back": money(result.clawed_back),
                "gifts_charged": money(result.gifts_charged),
                "shipping": money(result.shipping),
                "total": money(result.total),
            }
        )

    def give_back_to(self, body: dict[str, Any]) -> tuple[str, str] | None:
        """The reservation and refund id a refund request gives back to, or None."""
        reservation, refund_id = body.get("reservation"), body.get("refund_id")
        if reservation is None and refund_id is None:
            return None
        for name, value in (("reservation", reservation), ("refund_id", refund_id)):
            if not (
                isinstance(value, str)
                and 0 < len(value) <= MAX_RESERVATION_LENGTH
                and "\0" not in value
            ):
                raise _Problem(
                    422,
                    _error(
                        "PR301",
                        "reservation and refund_id: both, 1 to "
                        f"{MAX_RESERVATION_LENGTH} characters",
                        name,
                    ),
                )
        if self.ledger is None:
            raise _no_ledger()
        assert isinstance(reservation, str) and isinstance(refund_id, str)
        return reservation, refund_id

    def give_back(self, to: tuple[str, str], found: Refund) -> dict[str, Any]:
        """Give back to the served ledger what a return frees (``Ledger.refund``); a
        refusal (not committed, more than it used, an id reused) is a 409."""
        from promorules.ledger import (
            BackendError,
            LedgerError,
            RetryableLedgerError,
            open_ledger,
        )

        assert self.ledger is not None
        reservation, refund_id = to
        try:
            with open_ledger(self.ledger) as ledger:
                done = ledger.refund(reservation, found, refund_id)
        except (BackendError, RetryableLedgerError) as exc:  # the ledger, not the request
            raise _Problem(503, _error("PR906", f"the ledger: {exc}")) from None
        except LedgerError as exc:
            raise _Problem(
                409, _error("PR906", f"the ledger refused: {exc}", "reservation")
            ) from None
        return {
            "reservation": done.reservation,
            "refund_id": done.refund_id,
            "given_back": [[str(key), amount] for key, amount in done.consumption],
        }

    async def diff(self, request: Request) -> Response:
        """``{"ruleset": "<TOML of the changed ruleset>", "carts": [cart documents]}``:
        what the change does, key by key and over those carts and the served samples."""
        from promorules.diff import price_impact, report_dict, text_changes

        holder = self.holder(request)
        body, _ = await self.json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("ruleset"), str):
            raise _Problem(422, _error("PR301", "give the changed ruleset's TOML text", "ruleset"))
        carts: Any = body.get("carts", [])
        if set(body) - {"ruleset", "carts"} or not isinstance(carts, list):
            raise _Problem(422, _error("PR301", 'give "ruleset" and an optional "carts" list'))
        loaded = holder.current
        engine = loaded.engine
        new = await run_in_threadpool(
            load_text, body["ruleset"], loaded.source, self.kinds, loaded.name
        )
        samples = list(self.samples)
        for k, doc in enumerate(carts):
            found = build_cart(
                doc, engine.currency, engine.ruleset.tz, self.catalog, source=f"carts[{k}]"
            )
            at = found.at or datetime.now(engine.ruleset.tz)
            context = Context(at, found.channel, tuple(found.coupons), choices=found.choices)
            samples.append(Sample(f"carts[{k}]", found.cart, context))
        changes = text_changes(loaded.text, loaded.source, body["ruleset"], "new")
        impact = await run_in_threadpool(price_impact, engine, new.engine, samples)
        report = report_dict(changes, impact, engine.currency, 10)
        return JSONResponse({"ruleset": _named(loaded), "new_version": new.version, **report})

    async def simulate(self, request: Request) -> Response:
        """``promorules simulate --format json`` of the served order log under a served
        ruleset (one replay per ruleset version, kept)."""
        loaded = self.holder(request).current
        if self.orders is None:
            raise _Problem(404, _error("PR902", "no order log is served (serve --orders LOG)"))
        key = (loaded.name, loaded.version)
        found = self._simulations.get(key)
        if found is None:
            found = await run_in_threadpool(self._simulate, loaded)
            self._simulations[key] = found
        return JSONResponse({**found, "served": _named(loaded)})

    def _simulate(self, loaded: Loaded) -> dict[str, Any]:
        from promorules.simulate import report
        from promorules.simulate import run as replay
        from promorules.simulate.orders import detect_format
        from promorules.simulate.parallel import Job
        from promorules.simulate.roi import assumptions

        assert self.orders is not None
        engine = loaded.engine
        job = Job(
            loaded.text, loaded.source, None, self.catalog, self.orders, detect_format(self.orders)
        )
        started = datetime.now().timestamp()
        outcome = replay(engine, job)
        seconds = datetime.now().timestamp() - started
        return report.build(
            engine,
            outcome,
            assumptions(engine.ruleset, {}),
            orders_file=self.orders,
            seconds=seconds,
        )

    async def ruleset(self, request: Request) -> Response:
        """One served ruleset, with its TOML text."""
        loaded = self.holder(request, request.path_params["name"]).current
        return JSONResponse({**_described(loaded, self.kinds), "text": loaded.text})

    async def validate(self, request: Request) -> Response:
        from promorules.validate import Options, validate
        from promorules.validate.report import to_dict

        loaded = self.holder(request).current
        text = request.query_params.get("examples", "300")
        if not text.isdigit() or not 1 <= int(text) <= 100_000:
            raise _Problem(422, _error("PR904", "?examples is 1 to 100000", "examples"))
        options = Options(examples=int(text), out_dir=None)
        report = await run_in_threadpool(validate, loaded.engine, self.catalog, options)
        # the report names its ruleset's file under "ruleset"; the served one is "served"
        return JSONResponse({**to_dict(report), "served": _named(loaded)})

    async def rulesets(self, request: Request) -> Response:
        return JSONResponse([_described(h.current, self.kinds) for h in self.holders.values()])

    async def reload(self, request: Request) -> Response:
        if not self.token:
            raise _Problem(403, _error("PR905", "reloading over HTTP is off (no token is set)"))
        given = request.headers.get("authorization", "")
        if not secrets.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
            raise _Problem(401, _error("PR905", "a reload needs Authorization: Bearer <token>"))
        holder = self.holder(request, request.path_params["name"])
        force = self.flag(request, "force")
        raw = await self.body(request)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _Problem(422, _error("PR002", "the ruleset is not UTF-8 text")) from None
        previous = holder.current.version
        try:
            loaded = await run_in_threadpool(holder.reload, text, judge=self.judge, force=force)
        except Refused as exc:
            raise _Problem(409, {"error": str(exc), "validation": exc.details}) from None
        return JSONResponse(
            {"ruleset": _named(loaded), "previous": previous, "changed": loaded.version != previous}
        )

    async def plugins(self, request: Request) -> Response:
        kinds = self.kinds
        rows = []
        for name in kinds:
            kind = kinds[name]
            rows.append(
                {
                    "kind": name,
                    "lanes": [lane.value for lane in kind.lanes],
                    "summary": kind.summary,
                }
            )
        return JSONResponse(rows)

    async def schema(self, request: Request) -> Response:
        from promorules.schema import ruleset_schema

        return JSONResponse(ruleset_schema(self.kinds))

    async def catalog_search(self, request: Request) -> Response:
        """Up to 50 skus whose sku, title, category, brand or merchant holds ``q``."""
        query = request.query_params.get("q", "").strip().lower()[:100]
        if not self.catalog:
            return JSONResponse([])
        currency = next(iter(self.holders.values())).current.engine.currency
        out = []
        for sku, item in self.catalog.items():
            words = " ".join(
                str(v) for v in (sku, item.title, item.category, item.brand, item.merchant) if v
            )
            if query in words.lower():
                out.append(
                    {
                        "sku": sku,
                        "title": item.title,
                        "unit_price": None
                        if item.price is None
                        else format_amount(item.price, currency),
                        "category": item.category,
                        "brand": item.brand,
                        "merchant": item.merchant,
                    }
                )
                if len(out) == 50:
                    break
        return JSONResponse(out)

    async def openapi(self, request: Request) -> Response:
        from promorules.serve.openapi import document

        return JSONResponse(document(sorted(self.holders)))

    async def page(self, request: Request) -> Response:
        return FileResponse(PAGE / "index.html", media_type="text/html; charset=utf-8")

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ("app.js", "style.css"):
            raise _Problem(404, _error("PR902", "no such file"))
        media = "text/javascript" if name.endswith(".js") else "text/css"
        return FileResponse(PAGE / name, media_type=f"{media}; charset=utf-8")


def _named(loaded: Loaded) -> dict[str, str]:
    return {"name": loaded.name, "version": loaded.version}


def _described(loaded: Loaded, kinds: Mapping[str, Kind]) -> dict[str, Any]:
    ruleset = loaded.engine.ruleset
    tz = ruleset.tz
    phases = [
        {
            "name": name,
            "start": window.start.astimezone(tz).isoformat(),
            "end": window.end.astimezone(tz).isoformat(),
        }
        for name, window in ruleset.campaign.phases.items()
    ]
    return {
        **_named(loaded),
        "source": loaded.source,
        "loaded_at": loaded.loaded_at.isoformat(),
        "currency": loaded.engine.currency,
        "timezone": ruleset.campaign.timezone,
        "phases": phases,
        "promotions": [
            {
                "id": p.id,
                "title": p.title,
                "kind": p.kind,
                "lane": (p.lane or kinds[p.kind].lanes[0]).value,
            }
            for p in ruleset.promotions
        ],
    }


def create_app(service: Service) -> Starlette:
    """The ASGI application of ``service``."""

    def guarded(route: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                response: Response = await route(request)
                return response
            except _Problem as exc:
                return JSONResponse(exc.body, status_code=exc.status)
            except RulesetError as exc:
                return JSONResponse(_errors(list(exc.diagnostics)), status_code=422)
            except PromorulesError as exc:
                return JSONResponse(_error("PR900", str(exc)), status_code=422)
            except Exception:  # answered without the traceback, which goes to the log
                reference = secrets.token_hex(6)
                print(f"promorules serve: error {reference}", file=sys.stderr)
                traceback.print_exc(file=sys.stderr)
                body = {"error": "internal error", "reference": reference}
                return JSONResponse(body, status_code=500)

        return endpoint

    s = service
    routes = [
        Route("/", guarded(s.page), methods=["GET"]),
        Route("/assets/{name}", guarded(s.asset), methods=["GET"]),
        Route("/openapi.json", guarded(s.openapi), methods=["GET"]),
        Route("/v1/price", guarded(s.price), methods=["POST"]),
        Route("/v1/validate", guarded(s.validate), methods=["POST"]),
        Route("/v1/refund", guarded(s.refund), methods=["POST"]),
        Route("/v1/rulesets", guarded(s.rulesets), methods=["GET"]),
        Route("/v1/rulesets/{name}", guarded(s.reload), methods=["POST"]),
        Route("/v1/rulesets/{name}", guarded(s.ruleset), methods=["GET"]),
        Route("/v1/diff", guarded(s.diff), methods=["POST"]),
        Route("/v1/simulate", guarded(s.simulate), methods=["POST"]),
        Route("/v1/plugins", guarded(s.plugins), methods=["GET"]),
        Route("/v1/schema", guarded(s.schema), methods=["GET"]),
        Route("/v1/catalog", guarded(s.catalog_search), methods=["GET"]),
    ]
    app = Starlette(routes=routes)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        return JSONResponse(_error("PR902", f"HTTP {status}"), status_code=status)

    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, not_found)
    return app
