"""Fault rules at run time: ids, removal, settings that restore what they replaced, the
precedence of latency rules, the late create, and the loopback control endpoint every
front-end serves (driven over real HTTP, as a harness in another process drives it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from unittest import mock

import pytest
import requests
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from canary import CANARY_KEY, CANARY_SECRET
from pybit.unified_trading import HTTP

from console.sim.frontends import FRONT_ENDS
from console.sim.protocol.control import CONTROL_PATH, is_loopback, loopback_only
from console.sim.protocol.faults import (
    DEFAULT_HANG_MS,
    DEFAULT_LATE_MS,
    AfterPlace,
    Faults,
    FaultSpecError,
)
from console.sim.server import SimServerHandle, run_sim_server_in_thread

PLACE = "/v5/order/create"


# -- the controller ---------------------------------------------------------------------

def test_each_rule_added_gets_an_id_and_can_be_removed_alone() -> None:
    faults = Faults(place_target=PLACE)
    first = faults.add("http503=2@/v5/order/create;latency=40ms")
    second = faults.add("retcode=10006x3@/v5/order/realtime")
    assert len(first) == 2 and len(second) == 1 and len({*first, *second}) == 3
    assert faults.rules() == [(first[0], "http503=2@/v5/order/create"),
                              (first[1], "latency=40ms"),
                              (second[0], "retcode=10006x3@/v5/order/realtime")]
    assert faults.remove(first[0])
    assert faults.http_status(PLACE) is None  # that rule only
    assert faults.latency_ms("/x") == 40 and faults.ret_code("/v5/order/realtime") == 10006
    assert not faults.remove(first[0])  # not twice
    assert faults.remove(first[1]) and faults.latency_ms("/x") == 0


def test_a_spent_count_rule_cannot_be_removed_and_is_no_longer_listed() -> None:
    faults = Faults()
    [rule_id] = faults.add("http500=1@/p")
    assert faults.http_status("/p") == 500
    assert faults.rules() == [] and not faults.remove(rule_id)


def test_a_spec_with_one_bad_rule_adds_nothing() -> None:
    faults = Faults("latency=5ms")
    with pytest.raises(FaultSpecError, match="nonsense"):
        faults.add("http503=1;nonsense=2")
    assert faults.describe() == "latency=5ms" and faults.http_status("/p") is None


def test_removing_a_setting_restores_the_value_set_before_it() -> None:
    faults = Faults()
    [hang1] = faults.add("hang=3s")
    [hang2, after, mode] = faults.add(
        "hang=500ms;ws_disconnect_after=2;ws_disconnect_mode=close")
    assert (faults.hang_ms, faults.ws_disconnect_after_ms, faults.ws_disconnect_mode) \
        == (500, 2000, "close")
    assert faults.remove(hang2) and faults.hang_ms == 3000
    assert faults.remove(hang1) and faults.hang_ms == DEFAULT_HANG_MS
    assert faults.remove(mode) and faults.ws_disconnect_mode == "abort"
    assert faults.remove(after) and faults.ws_disconnect_after_ms is None


def test_clear_counts_the_rules_in_force_and_ids_are_never_reused() -> None:
    faults = Faults()
    ids = faults.add("http500=1@/a;latency=9ms;hang=1s;ws_dup=0.5")
    faults.http_status("/a")  # spends the count rule
    assert faults.clear() == 3
    assert faults.rules() == [] and faults.hang_ms == DEFAULT_HANG_MS
    assert faults.add("latency=1ms")[0] > max(ids)


@pytest.mark.parametrize("order", [0, 1])
def test_a_targeted_latency_wins_over_a_general_one_whatever_the_order(order: int) -> None:
    rules = ["latency=500ms", "latency=20ms@/v5/order/*", "latency=7ms@/v5/order/create"]
    faults = Faults(";".join(rules if order == 0 else reversed(rules)))
    assert faults.latency_ms("/v5/order/create") == 7   # exact path
    assert faults.latency_ms("/v5/order/amend") == 20   # prefix
    assert faults.latency_ms("/v5/position/list") == 500  # general


def test_a_longer_prefix_wins_and_among_equals_the_last_added() -> None:
    faults = Faults("latency=30ms@/v5/order/*;latency=40ms@/v5/*")
    assert faults.latency_ms("/v5/order/cancel") == 30
    [later] = faults.add("latency=60ms@/v5/order/*")
    assert faults.latency_ms("/v5/order/cancel") == 60
    faults.remove(later)
    assert faults.latency_ms("/v5/order/cancel") == 30


def test_late_create_parses_defaults_to_the_place_target_and_draws_its_delay() -> None:
    faults = Faults("late_create=2", seed=3, place_target=PLACE)
    assert faults.rules()[0][1] == "late_create=2@/v5/order/create"
    assert faults.late_create("/v5/order/amend") is None
    assert faults.after_place(PLACE) is None  # not an after-place rule
    assert faults.late_create(PLACE) == DEFAULT_LATE_MS
    faults.add("late=100ms..300ms")
    delay = faults.late_create(PLACE)
    assert delay is not None and 100 <= delay <= 300
    assert faults.late_create(PLACE) is None  # the count is spent
    faults.add("hang_after_place=1")
    assert faults.after_place(PLACE) is AfterPlace.HANG


@pytest.mark.parametrize("spec", ["late=soon", "late=3s..1s", "late_create=0"])
def test_bad_late_rules_are_refused(spec: str) -> None:
    with pytest.raises(FaultSpecError, match=spec.split("=", maxsplit=1)[0]):
        Faults(spec)


# -- the endpoint -----------------------------------------------------------------------

@pytest.fixture(params=list(FRONT_ENDS))
def server(request: pytest.FixtureRequest) -> Iterator[SimServerHandle]:
    handle = run_sim_server_in_thread(venue=request.param, api_key=CANARY_KEY,
                                      api_secret=CANARY_SECRET)
    yield handle
    handle.stop()


def test_the_endpoint_adds_lists_removes_and_clears_rules(server: SimServerHandle) -> None:
    url = server.front_end.control_url
    assert url.startswith("http://127.0.0.1:") and url.endswith(CONTROL_PATH)
    added = requests.post(url, data="http503=2@/v5/order/create;latency=25ms", timeout=5)
    assert added.status_code == 200
    ids = added.json()["ids"]
    assert server.faults.latency_ms("/anything") == 25
    more = requests.post(url, json={"spec": "ws_drop=0.5@order"}, timeout=5).json()["ids"]
    listed = requests.get(url, timeout=5).json()
    assert [r["id"] for r in listed["rules"]] == [*ids, *more]
    assert listed["rules"][1]["rule"] == "latency=25ms"
    assert "ws_drop=0.5@order" in listed["spec"]

    removed = requests.delete(f"{url}/{ids[1]}", timeout=5)
    assert removed.status_code == 200 and removed.json() == {"removed": ids[1]}
    assert server.faults.latency_ms("/anything") == 0
    again = requests.delete(f"{url}/{ids[1]}", timeout=5)
    assert again.status_code == 404 and str(ids[1]) in again.json()["error"]

    cleared = requests.delete(url, timeout=5)
    assert cleared.json() == {"cleared": 2}
    assert server.faults.describe() == "" and requests.get(url, timeout=5).json()["rules"] == []


def test_the_endpoint_refuses_bad_specs_without_adding_anything(
        server: SimServerHandle) -> None:
    url = server.front_end.control_url
    for body, kwargs in (("latency=1ms;bogus=1", {}), ("", {}),
                         (None, {"json": {"rule": "latency=1ms"}}),
                         ("{not json", {"headers": {"Content-Type": "application/json"}})):
        resp = requests.post(url, data=body, timeout=5, **kwargs)
        assert resp.status_code == 400, body
        assert resp.json()["error"]
    assert requests.delete(f"{url}/abc", timeout=5).status_code == 400
    assert server.faults.rules() == []


def test_the_endpoint_is_outside_the_venue_pipeline(server: SimServerHandle) -> None:
    """Injected faults never touch the control endpoint itself: a harness can always
    take back what it added."""
    url = server.front_end.control_url
    requests.post(url, data="http503=1.0;latency=1500ms", timeout=5)
    started = time.monotonic()
    assert requests.delete(url, timeout=5).json() == {"cleared": 2}
    assert time.monotonic() - started < 1.0


def test_a_peer_that_is_not_loopback_is_refused() -> None:
    calls: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        calls.append("served")
        return web.Response(text="ok")

    guarded = loopback_only(handler)

    def request_from(peer: str) -> web.Request:
        transport = mock.Mock()
        transport.get_extra_info.side_effect = \
            lambda name, default=None: (peer, 4444) if name == "peername" else default
        return make_mocked_request("POST", CONTROL_PATH, transport=transport)

    refused = asyncio.run(guarded(request_from("10.1.2.3")))
    assert refused.status == 403 and calls == []
    assert asyncio.run(guarded(request_from("127.0.0.1"))).text == "ok"
    assert calls == ["served"]


@pytest.mark.parametrize(("remote", "loopback"), [
    ("127.0.0.1", True), ("127.5.6.7", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("10.0.0.1", False), ("192.168.1.9", False), ("::ffff:10.0.0.1", False),
    ("fe80::1%eth0", False), ("", False), (None, False), ("localhost", False)])
def test_loopback_addresses(remote: str | None, loopback: bool) -> None:
    assert is_loopback(remote) is loopback


# -- a late create through Bybit's front-end, added at run time --------------------------

def pybit_http(server: SimServerHandle) -> HTTP:
    session = HTTP(api_key=server.api_key, api_secret=server.api_secret, retry_codes={-1},
                   max_retries=1, timeout=5)
    session.endpoint = server.rest_url
    return session


def test_a_late_create_answers_nothing_then_lands_on_the_exchange() -> None:
    with run_sim_server_in_thread(venue="bybit", api_key=CANARY_KEY,
                                  api_secret=CANARY_SECRET) as server:
        url = server.front_end.control_url
        requests.post(url, data="late=1500ms;late_create=1", timeout=5).raise_for_status()
        http = pybit_http(server)
        link = "late-create-1"
        with pytest.raises(requests.exceptions.ConnectionError):
            http.place_order(category="linear", symbol="BTCUSDT", side="Buy",
                             orderType="Limit", qty="0.01", price="50000", orderLinkId=link)
        # the client gave up; the venue has not executed it yet
        assert server.call(server.exchange.order_by_client_id, server.account, link) is None
        deadline = time.monotonic() + 6
        while server.call(server.exchange.order_by_client_id, server.account, link) is None:
            assert time.monotonic() < deadline, "the late create never landed"
            time.sleep(0.02)
        found = http.get_open_orders(category="linear", symbol="BTCUSDT", orderLinkId=link)
        assert [o["orderLinkId"] for o in found["result"]["list"]] == [link]
        # the count is spent: the next create is answered at once
        answer = http.place_order(category="linear", symbol="BTCUSDT", side="Buy",
                                  orderType="Limit", qty="0.01", price="50000",
                                  orderLinkId="late-create-2")
        assert answer["retCode"] == 0


def test_a_targeted_latency_added_at_run_time_beats_the_general_one() -> None:
    with run_sim_server_in_thread(venue="bybit", api_key=CANARY_KEY,
                                  api_secret=CANARY_SECRET) as server:
        url = server.front_end.control_url
        requests.post(url, data="latency=1500ms", timeout=5).raise_for_status()
        requests.post(url, data="latency=5ms@/v5/market/time", timeout=5).raise_for_status()
        started = time.monotonic()
        requests.get(f"{server.rest_url}/v5/market/time", timeout=5).raise_for_status()
        assert time.monotonic() - started < 1.0
        started = time.monotonic()
        requests.get(f"{server.rest_url}/v5/market/instruments-info?category=linear",
                     timeout=5).raise_for_status()
        assert time.monotonic() - started >= 1.5
