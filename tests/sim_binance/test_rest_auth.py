"""Binance authentication as the sim checks it: the docs' signing vector, the exact bytes
received (query, body, both), and each refusal with Binance's code and HTTP status."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
import requests
from binance_rest_helpers import KEY, READ_KEY, READ_SECRET, RestSim, error_of, sign

from console.sim.binance.auth import sign as sim_sign
from console.sim.binance.auth import strip_signature

DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_PAYLOAD = ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
               "&recvWindow=5000&timestamp=1499827319559")
DOC_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
         "quantity": "0.001", "price": "50000"}


@pytest.fixture(scope="module")
def sim() -> Iterator[RestSim]:
    handle = RestSim()
    yield handle
    handle.stop()


def test_docs_signing_vector() -> None:
    assert sim_sign(DOC_SECRET, DOC_PAYLOAD.encode()) == DOC_SIGNATURE
    stripped, found = strip_signature(f"{DOC_PAYLOAD}&signature={DOC_SIGNATURE}".encode())
    assert stripped == DOC_PAYLOAD.encode() and found == [DOC_SIGNATURE.encode()]


@pytest.mark.parametrize("where", ["query", "body", "split"])
def test_signed_anywhere_is_accepted(sim: RestSim, where: str) -> None:
    answer = sim.signed("POST", "/fapi/v1/order", {**ORDER, "newClientOrderId": f"a-{where}"},
                        where=where)
    assert answer.status_code == 200, answer.text
    assert answer.json()["clientOrderId"] == f"a-{where}"


def test_percent_encoded_payload_is_verified_as_sent(sim: RestSim) -> None:
    """The client id below is percent-encoded on the wire; the signature covers the
    encoded bytes (Binance's rule since 2026-01-15)."""
    cid = "p:enc/1"
    answer = sim.signed("POST", "/fapi/v1/order", {**ORDER, "newClientOrderId": cid},
                        where="body")
    assert answer.status_code == 200, answer.text
    assert answer.json()["clientOrderId"] == cid
    # signed over the decoded text instead: refused
    ts = sim.clock()
    decoded = f"symbol=BTCUSDT&newClientOrderId={cid}&timestamp={ts}"
    encoded = f"symbol=BTCUSDT&newClientOrderId={quote(cid, safe='')}&timestamp={ts}"
    bad = requests.get(f"{sim.url}/fapi/v1/order?{encoded}&signature="
                       f"{sign('x' * 8, decoded)}", headers={"X-MBX-APIKEY": KEY}, timeout=5)
    assert error_of(bad) == (400, -1022)


def test_tampered_query_is_refused(sim: RestSim) -> None:
    answer = sim.signed("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"},
                        tamper=lambda text: text.replace("BTCUSDT", "ETHUSDT"))
    assert error_of(answer) == (400, -1022)


def test_tampered_body_is_refused(sim: RestSim) -> None:
    answer = sim.signed("POST", "/fapi/v1/order", ORDER, where="body",
                        tamper=lambda text: text.replace("quantity=0.001", "quantity=0.002"))
    assert error_of(answer) == (400, -1022)


def test_timestamp_rules(sim: RestSim) -> None:
    now = sim.clock()
    stale = sim.signed("GET", "/fapi/v2/balance", timestamp=now - 6000)
    assert error_of(stale) == (400, -1021)
    widened = sim.signed("GET", "/fapi/v2/balance", timestamp=now - 6000, recv_window=10_000)
    assert widened.status_code == 200
    ahead = sim.signed("GET", "/fapi/v2/balance", timestamp=now + 5000)
    assert error_of(ahead) == (400, -1021)
    micros = sim.signed("GET", "/fapi/v2/balance", timestamp=now * 1000)
    assert micros.status_code == 200, micros.text
    too_wide = sim.signed("GET", "/fapi/v2/balance", recv_window=60_001)
    assert error_of(too_wide)[0] == 400
    missing = requests.get(f"{sim.url}/fapi/v2/balance?signature=00",
                           headers={"X-MBX-APIKEY": KEY}, timeout=5)
    assert error_of(missing) == (400, -1102)


def test_key_refusals(sim: RestSim) -> None:
    wrong = sim.signed("GET", "/fapi/v2/balance", key="nosuchkey123")
    assert error_of(wrong) == (401, -2015)
    malformed = sim.signed("GET", "/fapi/v2/balance", key="bad key!")
    assert error_of(malformed) == (401, -2014)
    wrong_secret = sim.signed("GET", "/fapi/v2/balance", secret="not-the-secret")
    assert error_of(wrong_secret) == (400, -1022)
    unsigned = sim.keyed("GET", "/fapi/v2/balance", {"timestamp": sim.clock()})
    assert error_of(unsigned) == (400, -1102)


def test_read_only_key_cannot_trade(sim: RestSim) -> None:
    reading = sim.signed("GET", "/fapi/v2/balance", key=READ_KEY, secret=READ_SECRET)
    assert reading.status_code == 200
    trading = sim.signed("POST", "/fapi/v1/order", ORDER, key=READ_KEY, secret=READ_SECRET)
    assert error_of(trading) == (401, -2015)


def test_listen_key_needs_the_key_only(sim: RestSim) -> None:
    answer = sim.keyed("POST", "/fapi/v1/listenKey")
    assert answer.status_code == 200 and len(answer.json()["listenKey"]) == 64
    no_key = requests.post(f"{sim.url}/fapi/v1/listenKey", timeout=5)
    assert error_of(no_key) == (401, -2014)


def test_public_endpoints_need_nothing(sim: RestSim) -> None:
    assert sim.public("/fapi/v1/ping").json() == {}
    assert sim.public("/api/v3/ping").json() == {}
    served = sim.public("/fapi/v1/time").json()["serverTime"]
    assert abs(served - sim.clock()) < 5000
