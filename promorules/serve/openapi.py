"""The OpenAPI 3.1 document of ``promorules serve`` (``GET /openapi.json``).

Request bodies are checked by the same reading layer as the command line (so errors
carry its codes and key paths); the schemas here describe them for client generators
and are kept to the keys that layer accepts (a test holds the cart schema's keys to
:data:`promorules.records.LINE_KEYS` and the cart file's keys).
"""

from __future__ import annotations

from typing import Any

from promorules import __version__
from promorules.messages import locales

MONEY: dict[str, Any] = {
    "oneOf": [{"type": "string", "pattern": r"^\d+(\.\d+)?$"}, {"type": "integer"}],
    "description": 'an amount in major units: a decimal string ("199.00") or an integer',
}
TEXT: dict[str, Any] = {"type": "string"}
NAMES: dict[str, Any] = {"type": "array", "items": TEXT}

LINE: dict[str, Any] = {
    "type": "object",
    "required": ["sku"],
    "additionalProperties": False,
    "properties": {
        "sku": TEXT,
        "quantity": {"type": "integer", "minimum": 1},
        "unit_price": MONEY,
        "unit_cost": MONEY,
        "category": TEXT,
        "brand": TEXT,
        "merchant": TEXT,
        "tags": NAMES,
        "title": TEXT,
        "deposit_paid": MONEY,
    },
}
CART: dict[str, Any] = {
    "type": "object",
    "required": ["lines"],
    "additionalProperties": False,
    "description": "a cart file's keys (docs/carts.md); sku facts not given come from the "
    "served catalogue",
    "properties": {
        "at": {"type": "string", "description": "ISO 8601; default: now, in the campaign's zone"},
        "channel": TEXT,
        "coupons": NAMES,
        "choices": {"type": "object", "additionalProperties": TEXT},
        "shipping": MONEY,
        "currency": TEXT,
        "customer": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"id": TEXT, "segments": NAMES, "tags": NAMES},
        },
        "lines": {"type": "array", "items": {"$ref": "#/components/schemas/Line"}},
    },
}
ERRORS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string", "description": "PRxxx, as the command line"},
                    "path": {"type": "string", "description": "the key path, e.g. lines[0].sku"},
                    "message": TEXT,
                    "line": {"type": "integer"},
                    "column": {"type": "integer"},
                },
            },
        }
    },
}
RULESET_QUERY: dict[str, Any] = {
    "name": "ruleset",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "the served ruleset's name (its file's stem); needed when several are served",
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    words = {
        401: "no or a wrong reload token",
        403: "reloading over HTTP is off",
        404: "no such ruleset",
        409: "refused: validate finds the new ruleset BREACHED",
        413: "the body is over the size limit",
        422: "bad input, located",
        500: "an internal error (its reference is in the server's log)",
    }
    return {str(s): _json({"$ref": "#/components/schemas/Errors"}, words[s]) for s in statuses}


def document(rulesets: list[str]) -> dict[str, Any]:
    """The document, naming the rulesets served."""
    quote = {
        "type": "object",
        "description": "Quote.to_dict(), with the ruleset's name and version",
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "promorules",
            "version": __version__,
            "description": "Pricing under promotion rulesets that never break the margin "
            "floor. Rulesets served: " + ", ".join(rulesets),
        },
        "paths": {
            "/v1/price": {
                "post": {
                    "summary": "price a cart",
                    "parameters": [
                        RULESET_QUERY,
                        {
                            "name": "explain",
                            "in": "query",
                            "schema": {"type": "boolean", "default": False},
                            "description": "add every promotion's explanation and every "
                            "code's account",
                        },
                        {
                            "name": "lang",
                            "in": "query",
                            "schema": {"enum": list(locales())},
                            "description": "the language of messages (explanations, code "
                            "findings, upsell hints, payment labels); without it, the "
                            "Accept-Language header's best, else en. Codes and parameters "
                            "are the same in every language",
                        },
                        {
                            "name": "Accept-Language",
                            "in": "header",
                            "schema": TEXT,
                            "description": "used when ?lang is not given",
                        },
                        {
                            "name": "reservation",
                            "in": "query",
                            "schema": {"type": "string", "minLength": 1, "maxLength": 256},
                            "description": "the reservation an order pricing again holds "
                            "(served with --ledger): its own holds read as available",
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Cart"}}
                        },
                    },
                    "responses": {
                        "200": _json(quote, "the quote"),
                        **_errors(404, 413, 422, 500),
                    },
                }
            },
            "/v1/refund": {
                "post": {
                    "summary": "what returning units of a priced cart gives back",
                    "parameters": [RULESET_QUERY],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["cart", "returns"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "cart": {"$ref": "#/components/schemas/Cart"},
                                        "returns": {
                                            "type": "object",
                                            "additionalProperties": {"type": "integer"},
                                        },
                                        "policy": {"enum": ["keep", "claw-back"]},
                                        "shipping": {"enum": ["full-return", "never", "always"]},
                                        "gifts_back": {
                                            "type": "object",
                                            "additionalProperties": {"type": "integer"},
                                        },
                                        "reservation": {
                                            "type": "string",
                                            "description": "with refund_id, on a server "
                                            "run with --ledger: the order's committed "
                                            "reservation, given back what the return frees",
                                        },
                                        "refund_id": {
                                            "type": "string",
                                            "description": "the return's id: sent again, "
                                            "the ledger changes nothing and answers the same",
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json({"type": "object"}, "the refund, line by line"),
                        **_errors(404, 413, 422, 500),
                    },
                }
            },
            "/v1/validate": {
                "post": {
                    "summary": "validate a served ruleset against the served catalogue",
                    "parameters": [
                        RULESET_QUERY,
                        {
                            "name": "examples",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100000},
                        },
                    ],
                    "responses": {
                        "200": _json({"type": "object"}, "validate --format json"),
                        **_errors(404, 422, 500),
                    },
                }
            },
            "/v1/rulesets": {
                "get": {
                    "summary": "the rulesets in service: versions, phases, promotions",
                    "responses": {"200": _json({"type": "array"}, "one entry a ruleset")},
                }
            },
            "/v1/rulesets/{name}": {
                "post": {
                    "summary": "replace a ruleset (TOML text in the body), validated first",
                    "parameters": [
                        {"name": "name", "in": "path", "required": True, "schema": TEXT},
                        {"name": "force", "in": "query", "schema": {"type": "boolean"}},
                    ],
                    "security": [{"token": []}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/toml": {"schema": {"type": "string"}}},
                    },
                    "responses": {
                        "200": _json({"type": "object"}, "swapped in (or unchanged)"),
                        **_errors(401, 403, 404, 409, 413, 422, 500),
                    },
                }
            },
            "/v1/plugins": {
                "get": {
                    "summary": "installed promotion kinds",
                    "responses": {"200": _json({"type": "array"}, "one entry a kind")},
                }
            },
            "/v1/schema": {
                "get": {
                    "summary": "the JSON Schema of rulesets",
                    "responses": {"200": _json({"type": "object"}, "JSON Schema")},
                }
            },
            "/v1/catalog": {
                "get": {
                    "summary": "up to 50 catalogue items matching a text",
                    "parameters": [{"name": "q", "in": "query", "schema": TEXT}],
                    "responses": {"200": _json({"type": "array"}, "items")},
                }
            },
        },
        "components": {
            "schemas": {"Cart": CART, "Line": LINE, "Errors": ERRORS},
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
    }
