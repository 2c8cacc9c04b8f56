"""The fault grammar and controller every front-end shares."""

from __future__ import annotations

import pytest

from console.sim.protocol.faults import (
    DEFAULT_HANG_MS,
    AfterPlace,
    Faults,
    FaultSpecError,
    WsAction,
)

PLACE = "/v5/order/create"


def test_spec_grammar_round_trips() -> None:
    spec = ("latency=50ms;http500=0.1@/v5/order/create;retcode=10006x5@/v5/order/realtime;"
            "timeout_after_place=1;ws_drop=0.2;ws_dup=0.1;ws_reorder=0.1;"
            "ws_disconnect_after=30")
    faults = Faults(spec, seed=1, place_target=PLACE)
    described = faults.describe()
    for part in ("latency=50ms", "http500=0.1@/v5/order/create",
                 "retcode=10006x5@/v5/order/realtime", "timeout_after_place=1@/v5/order/create",
                 "ws_drop=0.2", "ws_disconnect_after=30000ms"):
        assert part in described
    assert Faults(described, seed=1).describe() == described


@pytest.mark.parametrize("spec", [
    "latency", "latency=fast", "http200=1", "http500=1.5", "http500=0", "retcode=abc",
    "ws_drop=2.0", "nonsense=1", "ws_disconnect_mode=maybe", "latency=80ms..20ms",
    "seed=x", "timeout_after_place=x2.5", "hang=soon",
])
def test_bad_specs_are_refused_with_the_rule_named(spec: str) -> None:
    with pytest.raises(FaultSpecError) as err:
        Faults(spec)
    assert spec.split("=", maxsplit=1)[0] in str(err.value)


def test_probabilities_are_deterministic_for_a_seed() -> None:
    def draws(seed: int) -> list[bool]:
        faults = Faults("http503=0.5", seed=seed)
        return [faults.http_status("/p") is not None for _ in range(40)]
    assert draws(3) == draws(3)
    assert draws(3) != draws(4)
    assert 5 < sum(draws(3)) < 35


def test_counts_are_consumed_and_paths_matched() -> None:
    faults = Faults("retcode=10016x2@/v5/order/*;ws_dup=1@order", place_target=PLACE)
    assert faults.ret_code("/v5/position/list") is None
    assert faults.ret_code("/v5/order/create") == 10016
    assert faults.ret_code("/v5/order/cancel") == 10016
    assert faults.ret_code("/v5/order/create") is None
    assert faults.ws_action("wallet") is WsAction.SEND
    assert faults.ws_action("order") is WsAction.DUP
    assert faults.ws_action("order") is WsAction.SEND
    faults.add("hang_after_place=1")
    assert faults.after_place("/v5/order/create") is AfterPlace.HANG


def test_negative_venue_codes_are_allowed() -> None:
    """Binance and Deribit codes are negative (-1003, -32602)."""
    faults = Faults("retcode=-1003x2@/fapi/v1/order")
    assert [faults.ret_code("/fapi/v1/order") for _ in range(3)] == [-1003, -1003, None]
    assert faults.describe() == ""


def test_without_a_place_target_the_place_rules_apply_to_every_placing_path() -> None:
    faults = Faults("timeout_after_place=2")
    assert faults.after_place("/private/buy") is AfterPlace.CUT
    assert faults.after_place("/fapi/v1/order") is AfterPlace.CUT
    assert faults.after_place("/private/sell") is None
    assert faults.describe() == ""


def test_a_place_target_is_the_default_of_the_place_rules_only() -> None:
    faults = Faults("timeout_after_place=1;ws_drop=1", place_target=PLACE)
    assert faults.after_place("/v5/order/create-batch") is None
    assert faults.ws_action("order") is WsAction.DROP  # ws rules keep "any topic"
    assert faults.after_place(PLACE) is AfterPlace.CUT


def test_latency_ranges_draw_within_bounds_and_bare_numbers_are_ms() -> None:
    faults = Faults("latency=10..30ms@/a/*;latency=5", seed=2)
    draws = {faults.latency_ms("/a/b") for _ in range(50)}
    assert min(draws) >= 10 and max(draws) <= 30 and len(draws) > 3
    assert faults.latency_ms("/other") == 5
    assert faults.describe() == "latency=10ms..30ms@/a/*;latency=5ms"


def test_durations_default_to_seconds_for_hang_and_disconnect() -> None:
    faults = Faults("hang=2;ws_disconnect_after=1.5;ws_disconnect_mode=close")
    assert faults.hang_ms == 2000
    assert faults.ws_disconnect_after_ms == 1500
    assert faults.ws_disconnect_mode == "close"
    assert faults.describe() == "ws_disconnect_after=1500ms;ws_disconnect_mode=close"


def test_clear_restores_the_defaults() -> None:
    faults = Faults("http500=1;hang=1s;ws_disconnect_after=1;latency=9ms;ws_dup=0.5")
    faults.clear()
    assert faults.describe() == ""
    assert faults.hang_ms == DEFAULT_HANG_MS
    assert faults.ws_disconnect_after_ms is None
    assert faults.http_status("/x") is None and faults.latency_ms("/x") == 0
    assert faults.ws_action("order") is WsAction.SEND


def test_reseeding_replays_the_same_draws() -> None:
    faults = Faults("ws_drop=0.5", seed=11)
    first = [faults.ws_action("t") for _ in range(30)]
    faults.add("seed=11")
    assert [faults.ws_action("t") for _ in range(30)] == first


def test_a_fault_spec_error_is_a_config_error() -> None:
    from console.errors import ConfigError

    with pytest.raises(ConfigError):
        Faults("http999=1")
