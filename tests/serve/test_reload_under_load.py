"""Hot reload under load: clients price without pause while the ruleset is replaced,
over HTTP and through the file watcher; every answer comes from one whole version."""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from promorules.holder import version_of
from promorules.serve.app import Service
from promorules.serve.watch import Watcher
from tests.serve.conftest import RULESETS, TOKEN
from tests.serve.server import running
from tests.serve.test_api import MIDNIGHT

LADDER = '{ threshold = "500.00", off = "60.00" }'


def test_every_answer_is_from_one_complete_version(served: Service) -> None:
    holder = served.holders["double11"]
    path = Path(holder.current.source)
    first = (RULESETS / "double11.toml").read_text(encoding="utf-8")
    second = first.replace(LADDER, LADDER.replace("60.00", "80.00"))
    # the midnight cart under each version (hand-worked in tests/cli/test_diff_cli.py)
    expected = {version_of(first): "586.89", version_of(second): "566.89"}
    body = json.dumps(MIDNIGHT).encode()
    answers: list[tuple[int, str | None, str | None]] = []
    failures: list[str] = []
    stop = threading.Event()
    with running(served) as base:
        host = urlsplit(base)
        assert host.hostname is not None
        hostname = host.hostname

        def client() -> None:
            connection = http.client.HTTPConnection(hostname, host.port, timeout=30)
            try:
                while not stop.is_set():
                    connection.request(
                        "POST", "/v1/price", body, {"content-type": "application/json"}
                    )
                    response = connection.getresponse()
                    data = json.loads(response.read())
                    if response.status != 200:
                        answers.append((response.status, None, None))
                        continue
                    answers.append((200, data["ruleset"]["version"], data["totals"]["payable"]))
            except Exception as exc:  # a dropped connection is a failure of the swap
                failures.append(repr(exc))
            finally:
                connection.close()

        clients = [threading.Thread(target=client) for _ in range(3)]
        for thread in clients:
            thread.start()
        watcher = Watcher(served.holders, None, 3600)  # polled by hand below
        control = http.client.HTTPConnection(hostname, host.port, timeout=60)
        auth = {"authorization": f"Bearer {TOKEN}"}
        try:
            for k in range(12):
                text = second if k % 2 == 0 else first
                if k % 4 < 2:  # over HTTP (forced: the reload's validation is not timed here)
                    control.request("POST", "/v1/rulesets/double11?force=true", text.encode(), auth)
                    reply = control.getresponse()
                    assert reply.status == 200, reply.read()
                    reply.read()
                else:  # the file rewritten, then the watcher's poll
                    path.write_text(text, encoding="utf-8")
                    watcher.check()
                assert holder.current.version == version_of(text)
                time.sleep(0.05)
        finally:
            stop.set()
            for thread in clients:
                thread.join(30)
            control.close()
    assert not failures, failures[:3]
    assert answers, "no client got an answer"
    statuses = {status for status, _, _ in answers}
    assert statuses == {200}, statuses
    seen = {version for _, version, _ in answers}
    assert seen == set(expected), "both versions answered"
    for _, version, payable in answers:
        assert version is not None and expected[version] == payable
