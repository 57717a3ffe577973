"""How fast ``promorules serve`` prices over HTTP, next to ``engine.price`` in-process.

Run from the repository root (needs the ``serve`` extra)::

    python -m benchmarks.serve_bench            # 5 s per level, 3 rounds
    python -m benchmarks.serve_bench --quick    # 1 s per level, 1 round

The bundled workload's ruleset (:mod:`benchmarks.workload`) is served by ``promorules
serve`` in its own process (one uvicorn worker, as a checkout would run one per core),
and a bounded load generator in this process keeps 1, 16 and 64 connections busy on
loopback: each sends a 10-line cart (the workload's carts as JSON cart documents, every
sku fact given, so no catalogue lookup), waits for the answer, sends the next. Every
answer is checked: status 200 and the payable ``engine.price`` gives for that cart.
Printed per level: requests per second, p50 and p99 latency; and ``engine.price`` on the
same carts in this process for scale. Client and server share the 2 cores, so the figures
are what this machine does with both on it. Nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.ruleset import CartMaker, ruleset_toml
from benchmarks.workload import build_workload, carts
from promorules.engine import Engine
from promorules.money import format_amount

LEVELS = (1, 16, 64)
LINES = 10


def documents(count: int) -> tuple[list[bytes], list[str], Engine, list[Any]]:
    """``count`` 10-line carts as request bodies, the payables expected, the engine and
    the engine's own (cart, context) pairs."""
    workload = build_workload()
    engine = Engine.from_string(ruleset_toml(workload))
    make = CartMaker(workload)
    facts = {s.sku: s for s in workload.catalogue.values()}
    bodies, payables, pairs = [], [], []
    for cart in carts(LINES, count, workload=workload):
        engine_cart, context = make(cart)
        pairs.append((engine_cart, context))
        quote = engine.price(engine_cart, context)
        payables.append(quote.money(quote.payable))
        lines = []
        for sku, qty in cart.lines:
            s = facts[sku]
            lines.append(
                {
                    "sku": sku,
                    "quantity": qty,
                    "unit_price": format_amount(s.price, "CNY"),
                    "unit_cost": format_amount(s.cost, "CNY"),
                    "category": s.category,
                    "brand": s.brand,
                    "merchant": s.merchant,
                }
            )
        doc = {
            "at": cart.at.isoformat(),
            "coupons": list(cart.codes),
            "shipping": format_amount(cart.shipping, "CNY"),
            "customer": {"id": "bench", "segments": ["member"] if cart.member else []},
            "lines": lines,
        }
        bodies.append(json.dumps(doc).encode())
    return bodies, payables, engine, pairs


async def _client(
    port: int, bodies: Sequence[bytes], payables: Sequence[str], start: int, until: float
) -> tuple[list[float], int]:
    """One connection kept busy until ``until``; its latencies (s) and failures."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    latencies: list[float] = []
    failures = 0
    k = start
    try:
        while time.perf_counter() < until:
            body = bodies[k % len(bodies)]
            head = (
                f"POST /v1/price HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json"
                f"\r\ncontent-length: {len(body)}\r\n\r\n"
            ).encode()
            sent = time.perf_counter()
            writer.write(head + body)
            status_line = await reader.readline()
            length = 0
            while True:
                header = await reader.readline()
                if header in (b"\r\n", b""):
                    break
                name, _, value = header.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            answer = await reader.readexactly(length)
            latencies.append(time.perf_counter() - sent)
            ok = status_line.split(b" ")[1] == b"200"
            if not ok or json.loads(answer)["totals"]["payable"] != payables[k % len(bodies)]:
                failures += 1
            k += 1
    finally:
        writer.close()
    return latencies, failures


async def _level(
    port: int, clients: int, seconds: float, bodies: Sequence[bytes], payables: Sequence[str]
) -> tuple[float, float, float, int]:
    until = time.perf_counter() + seconds
    started = time.perf_counter()
    results = await asyncio.gather(
        *(_client(port, bodies, payables, c * 7, until) for c in range(clients))
    )
    elapsed = time.perf_counter() - started
    latencies = sorted(x for lat, _ in results for x in lat)
    failures = sum(f for _, f in results)
    p50 = latencies[len(latencies) // 2] * 1e3
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3
    return len(latencies) / elapsed, p50, p99, failures


def _serve(ruleset: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    argv = [sys.executable, "-c", "from promorules.cli import main; raise SystemExit(main())"]
    argv += ["serve", str(ruleset), "--port", str(port)]
    return subprocess.Popen([*argv, "--watch", "0"], env=env, stderr=subprocess.PIPE)


def _wait(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            said = server.stderr.read().decode() if server.stderr else ""
            raise SystemExit(f"the server exited: {said}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start within 60 s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 s per level, 1 round")
    args = parser.parse_args(argv)
    seconds, rounds = (1.0, 1) if args.quick else (5.0, 3)
    bodies, payables, engine, pairs = documents(200)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as where:
        ruleset = Path(where) / "bench.toml"
        ruleset.write_text(ruleset_toml(build_workload()), encoding="utf-8")
        server = _serve(ruleset, port)
        try:
            _wait(port, server)
            asyncio.run(_level(port, 4, 0.5, bodies, payables))  # warm-up
            figures: dict[int, list[tuple[float, float, float, int]]] = {c: [] for c in LEVELS}
            for _ in range(rounds):
                for clients in LEVELS:
                    figures[clients].append(
                        asyncio.run(_level(port, clients, seconds, bodies, payables))
                    )
        finally:
            server.terminate()
            server.wait(10)
    started = time.perf_counter()
    for cart, context in pairs * 5:
        engine.price(cart, context)
    in_process = (time.perf_counter() - started) / (len(pairs) * 5) * 1e6
    print(f"promorules serve, 10-line carts, loopback, load average {os.getloadavg()[0]:.1f}")
    print(f"{'clients':>8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7}")
    failed = 0
    for clients in LEVELS:
        rows = figures[clients]
        rate = statistics.median(r[0] for r in rows)
        p50 = statistics.median(r[1] for r in rows)
        p99 = statistics.median(r[2] for r in rows)
        bad = sum(r[3] for r in rows)
        failed += bad
        print(f"{clients:>8} {rate:>9,.0f} {p50:>8.2f} {p99:>8.2f} {bad:>7}")
    print(f"engine.price in-process: {in_process:.1f} us a cart ({1e6 / in_process:,.0f} carts/s)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
