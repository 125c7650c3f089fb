"""``helpdesk serve`` serves the API too (the embedded default), and ``helpdesk token`` makes
the tokens it takes: a ticket opened by API in a real serve process is acknowledged by mail."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx

from helpdesk.app.runtime import build
from helpdesk.app.settings import Settings
from tests.desk import wait_for
from tests.gateway.test_durability import free_port
from tests.sink import Sink
from workers.actors import RECONCILE
from workers.turns import last_beat


def env_of(settings: Settings, sink: Sink, http_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "HELPDESK_DATABASE_URL": settings.resolved_database_url,
        "HELPDESK_VAR_DIR": str(settings.var_dir),
        "HELPDESK_SUPPORT_ADDRESS": settings.support_address,
        "HELPDESK_SECRET": settings.secret,
        "HELPDESK_OUTBOUND": sink.url,
        "HELPDESK_HTTP_LISTEN": f"127.0.0.1:{http_port}",
    }


def helpdesk(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def test_a_ticket_opened_by_api_in_serve_is_acknowledged_and_a_revoked_token_stops(
    settings: Settings, sink: Sink, tmp_path: Path
) -> None:
    """Its timers are armed at once too: the SLA warning, due 3 s after (5 % of a 1 min
    target), reaches the supervisor long before the reconciler's next pass (an hour)."""
    http_port = free_port()
    env = env_of(settings, sink, http_port)
    env |= {"HELPDESK_RECONCILE_SECONDS": "3600", "HELPDESK_SLA_WARNING_RATIO": "0.05"}
    helpdesk(env, "init")
    helpdesk(env, "agent", "add", "ann@us.test", "--name", "Ann Archer")
    helpdesk(env, "agent", "add", "sue@us.test", "--name", "Sue", "--role", "supervisor")
    helpdesk(env, "sla", "set", "medium", "--first-response", "1m")
    printed = helpdesk(env, "token", "create", "ann@us.test", "--name", "crm").splitlines()
    token = printed[-1]
    assert token.startswith("hd_") and len(token) > 40 and token not in printed[0]
    log = tmp_path / "serve.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--smtp", f"127.0.0.1:{free_port()}"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{http_port}"
    try:
        wait_for(lambda: "HTTP listening" in log.read_text(), what="the HTTP server")
        with closing(build(settings)) as app:  # its first pass: the next is an hour away
            wait_for(lambda: last_beat(app, RECONCILE), what="the reconciler's first pass")
        time.sleep(2)  # for the pass to end (it takes milliseconds)
        headers = {"Authorization": f"Bearer {token}"}
        wanted = {
            "subject": "Invoice missing",
            "description": "No invoice came with the order.",
            "customer": {"email": "cy@customer.test"},
        }
        answer = httpx.post(f"{url}/api/v1/tickets", json=wanted, headers=headers, timeout=30)
        assert answer.status_code == 201, answer.text
        number = answer.json()["number"]
        wait_for(lambda: sink.to("cy@customer.test"), timeout=20, what="the acknowledgement")
        assert number in str(sink.to("cy@customer.test")[0].message["Subject"])

        def warned() -> list[str]:
            subjects = [str(m.message["Subject"]) for m in sink.to("sue@us.test")]
            return [s for s in subjects if "SLA warning" in s and number in s]

        wait_for(warned, timeout=20, what="the SLA warning")
        [listed] = helpdesk(env, "token", "list").splitlines()
        assert listed.startswith("1\tann@us.test\tcrm\t") and listed.endswith("live")
        helpdesk(env, "token", "revoke", "1")
        refused = httpx.get(f"{url}/api/v1/tickets", headers=headers, timeout=30)
        assert refused.status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_a_taken_http_port_is_said_in_one_line(settings: Settings, sink: Sink) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = env_of(settings, sink, port)
        done = subprocess.run(
            [sys.executable, "-m", "gateway", "serve", "--smtp", f"127.0.0.1:{free_port()}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
