"""Binance's registry entry and config: the strict `[profiles.NAME.binance]` sub-table,
built-in URLs per network and market, the registry, and a config that refuses nonsense.
Nothing here imports ccxt."""

from __future__ import annotations

import subprocess
import sys

import pytest

from console.domain import Category
from console.errors import ConfigError
from console.profiles import Network, Profile, ProfileValueError
from console.venues.binance.config import BinanceConfig
from console.venues.binance.spec import SPEC, BinanceSettings, parse
from console.venues.registry import VENUES, connector


def test_the_sub_table_is_read_strictly() -> None:
    assert parse({}) == BinanceSettings(Category.LINEAR, 0)
    assert parse({"market": "spot"}).market is Category.SPOT
    assert parse({"market": "usdm", "dead_man_s": "120"}).dead_man_s == 120
    assert parse({"market": "usdm", "dead_man_s": 60}).dead_man_s == 60
    for table, key in (({"market": "linear"}, "market"), ({"market": 1}, "market"),
                       ({"markt": "spot"}, "markt"), ({"dead_man_s": "2m"}, "dead_man_s"),
                       ({"dead_man_s": "5"}, "dead_man_s"),
                       ({"market": "spot", "dead_man_s": "60"}, "dead_man_s")):
        with pytest.raises(ProfileValueError) as caught:
            SPEC.parse_settings(table)
        assert caught.value.key == key


def test_settings_round_trip_through_their_table() -> None:
    for settings in (BinanceSettings(), BinanceSettings(Category.SPOT),
                     BinanceSettings(Category.LINEAR, 90)):
        assert parse(settings.to_table()) == settings
    assert BinanceSettings().to_table() == {"market": "usdm"}


def test_the_registry_offers_binance_with_its_fields() -> None:
    assert connector("binance") is SPEC and "binance" in VENUES
    assert SPEC.markets == frozenset({Category.SPOT, Category.LINEAR})
    fields = {f.key: f for f in SPEC.fields}
    assert fields["market"].choices == ("usdm", "spot") and fields["market"].default == "usdm"
    assert fields["dead_man_s"].default == "0"


def _profile(market: str, network: Network = Network.MAINNET, **changes: object) -> Profile:
    return Profile(name="desk", venue="binance", network=network,
                   settings=SPEC.parse_settings({"market": market}), **changes)  # type: ignore[arg-type]


def test_built_in_urls_per_network_and_market() -> None:
    assert SPEC.endpoints(_profile("usdm")).rest == "https://fapi.binance.com"
    assert SPEC.endpoints(_profile("usdm")).ws_private == "wss://fstream.binance.com/private/ws"
    assert SPEC.endpoints(_profile("spot")).rest == "https://api.binance.com"
    assert SPEC.endpoints(_profile("spot")).ws_private == \
        "wss://ws-api.binance.com:443/ws-api/v3"
    assert SPEC.endpoints(_profile("spot", Network.TESTNET)).rest == \
        "https://testnet.binance.vision"
    assert SPEC.endpoints(_profile("usdm", Network.TESTNET)).rest == \
        "https://testnet.binancefuture.com"


def test_spot_profiles_need_symbols() -> None:
    with pytest.raises(ConfigError, match="symbols"):
        SPEC.build(_profile("spot"), api_key="k" * 18, api_secret="s" * 36,
                   telemetry=None)  # type: ignore[arg-type]


def test_the_config_refuses_nonsense() -> None:
    good = {"account": "a", "rest_url": "http://127.0.0.1:1",
            "ws_private_url": "ws://127.0.0.1:1/private/ws"}
    BinanceConfig(**good)  # type: ignore[arg-type]
    for change in ({"market": Category.INVERSE}, {"rest_url": "ftp://x"},
                   {"ws_private_url": "http://x/ws"}, {"symbols": "BTCUSDT"},
                   {"symbols": ("btcusdt",)}, {"recv_window_ms": 60_001},
                   {"page_limit": 1001}, {"listen_key_keepalive_s": 3600.0},
                   {"ws_max_age_s": 86_400.0}, {"dead_man_ms": 5000},
                   {"market": Category.SPOT, "dead_man_ms": 60_000}, {"account": " "},
                   {"retry_base_ms": 5000, "retry_max_ms": 1000}):
        with pytest.raises(ConfigError):
            BinanceConfig(**{**good, **change})  # type: ignore[arg-type]
    config = BinanceConfig(**{**good, "rest_url": "http://127.0.0.1:1/"})  # type: ignore[arg-type]
    assert config.origin == "http://127.0.0.1:1" and config.weight_limit == 2400


def test_reading_the_registry_does_not_import_ccxt() -> None:
    code = ("import sys; import console.venues.registry; "
            "import console.venues.binance; import console.venues.binance.spec; "
            "print('ccxt' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "False"
