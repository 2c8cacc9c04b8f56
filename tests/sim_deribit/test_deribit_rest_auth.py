"""Deribit authentication over HTTP: public/auth grants, Bearer tokens (and their
expiry), per-request deri-hmac-sha256 signatures with fields in any order, Basic, and
the refusals' codes."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import requests
from deribit_helpers import KEY, READ_KEY, READ_SECRET, SECRET, Sim, sign


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    handle = Sim(token_ttl_ms=60_000)
    try:
        yield handle
    finally:
        handle.stop()


def test_client_credentials_answers_deribits_fields(sim: Sim) -> None:
    answer = sim.get("public/auth", {"grant_type": "client_credentials",
                                     "client_id": KEY, "client_secret": SECRET})
    assert answer.status_code == 200
    body = answer.json()
    assert body["jsonrpc"] == "2.0" and body["testnet"] is True
    assert isinstance(body["usIn"], int) and body["usDiff"] == body["usOut"] - body["usIn"]
    result = body["result"]
    assert result["token_type"] == "bearer"
    assert isinstance(result["access_token"], str) and isinstance(result["refresh_token"], str)
    assert result["expires_in"] == 60
    assert "trade:read_write" in result["scope"]


def test_bearer_token_authenticates_and_expires(sim: Sim) -> None:
    token = sim.token()
    headers = {"Authorization": f"Bearer {token}"}
    ok = sim.get("private/get_account_summary", {"currency": "BTC"}, headers=headers)
    assert ok.status_code == 200, ok.text
    sim.clock.offset += 61_000
    try:
        expired = sim.get("private/get_account_summary", {"currency": "BTC"},
                          headers=headers)
    finally:
        sim.clock.offset -= 61_000
    assert expired.status_code == 400
    assert expired.json()["error"]["code"] == 13009


def test_refresh_token_is_spent_once(sim: Sim) -> None:
    first = sim.get("public/auth", {"grant_type": "client_credentials",
                                    "client_id": KEY, "client_secret": SECRET}).json()
    refresh = first["result"]["refresh_token"]
    again = sim.get("public/auth", {"grant_type": "refresh_token", "refresh_token": refresh})
    assert again.status_code == 200 and again.json()["result"]["access_token"]
    reused = sim.get("public/auth", {"grant_type": "refresh_token", "refresh_token": refresh})
    assert reused.json()["error"]["code"] == 13004


def test_client_signature_grant(sim: Sim) -> None:
    ts, nonce, data = str(sim.clock()), "n0nce", ""
    signature = sign(SECRET, f"{ts}\n{nonce}\n{data}")
    answer = sim.post("public/auth", {"grant_type": "client_signature", "client_id": KEY,
                                      "timestamp": int(ts), "nonce": nonce, "data": data,
                                      "signature": signature}, rpc_id=42)
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == 42
    bad = sim.post("public/auth", {"grant_type": "client_signature", "client_id": KEY,
                                   "timestamp": int(ts), "nonce": nonce, "data": "x",
                                   "signature": signature})
    assert bad.json()["error"]["code"] == 13004


def test_refusals_carry_deribits_codes(sim: Sim) -> None:
    wrong = sim.get("public/auth", {"grant_type": "client_credentials", "client_id": KEY,
                                    "client_secret": "nope"})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == 13004
    missing = sim.get("public/auth", {"grant_type": "client_credentials"})
    assert missing.json()["error"]["code"] == 13010
    anonymous = sim.get("private/get_positions", {"currency": "BTC"})
    assert anonymous.json()["error"]["code"] == 13009
    read_only = sim.private("private/buy", {"instrument_name": "BTC-PERPETUAL",
                                            "amount": 10, "type": "market"},
                            key=READ_KEY, secret=READ_SECRET)
    assert read_only.json()["error"]["code"] == 13021


def test_hmac_header_fields_in_any_order_and_body_signed(sim: Sim) -> None:
    body = ('{"jsonrpc":"2.0","id":3,"method":"private/get_positions",'
            '"params":{"currency":"BTC"}}')
    uri = "/api/v2/private/get_positions"
    ts, nonce = str(sim.clock()), "zz9"
    sig = sign(SECRET, f"{ts}\n{nonce}\nPOST\n{uri}\n{body}\n")
    header = f"deri-hmac-sha256 nonce={nonce},sig={sig},id={KEY},ts={ts}"

    answer = requests.post(sim.url + uri, data=body, headers={"Authorization": header},
                           timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == 3 and answer.json()["result"] == []
    tampered = requests.post(sim.url + uri, data=body.replace("BTC", "ETH"),
                             headers={"Authorization": header}, timeout=10)
    assert tampered.json()["error"]["code"] == 13004
    assert tampered.json()["id"] == 3


def test_stale_signature_is_refused(sim: Sim) -> None:
    uri = "/api/v2/private/get_positions"
    ts = str(sim.clock() - 120_000)
    sig = sign(SECRET, f"{ts}\nn\nGET\n{uri}\n\n")

    answer = requests.get(sim.url + uri, timeout=10, headers={
        "Authorization": f"deri-hmac-sha256 id={KEY},ts={ts},sig={sig},nonce=n"})
    assert answer.json()["error"]["code"] == 13004


def test_basic_auth(sim: Sim) -> None:
    encoded = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    answer = sim.get("private/get_positions", headers={"Authorization": f"Basic {encoded}"})
    assert answer.status_code == 200 and answer.json()["result"] == []


def test_unknown_method_and_bad_json(sim: Sim) -> None:
    unknown = sim.get("private/no_such_method")
    assert unknown.json()["error"]["code"] == -32601

    broken = requests.post(f"{sim.url}/api/v2/public/get_time", data="{not json",
                           timeout=10)
    assert broken.json()["error"]["code"] == -32700
