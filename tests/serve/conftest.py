"""A served double11 (with its catalogue) for the API and page tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from promorules.cartfile import load_catalog
from promorules.holder import EngineHolder, load_file
from promorules.plugins import PluginHost
from promorules.serve.app import Service, create_app

RULESETS = Path(__file__).resolve().parents[2] / "rulesets"
TOKEN = "s3cret-token"


@pytest.fixture
def served(tmp_path: Path) -> Service:
    """double11 served from a copy (so a test may rewrite the file)."""
    path = tmp_path / "double11.toml"
    shutil.copy(RULESETS / "double11.toml", path)
    kinds = PluginHost.default().kinds
    loaded = load_file(path, kinds)
    catalog = load_catalog(RULESETS / "catalog.csv", loaded.engine.currency)
    return Service(
        {"double11": EngineHolder(loaded, kinds)},
        kinds,
        catalog,
        token=TOKEN,
        reload_examples=200,
    )


@pytest.fixture
def client(served: Service) -> Iterator[TestClient]:
    with TestClient(create_app(served), raise_server_exceptions=False) as found:
        yield found
