"""The venue registry: which venues a build offers, their URLs and sub-tables, how a
connector is built, and what a venue must add to be offered (a spec, a registry entry, an
entry in the import-linter independence contract)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from console.domain import Category
from console.domain.telemetry import NULL_TELEMETRY
from console.errors import ConfigError
from console.profiles import (
    SIM_VENUE,
    Network,
    PolicySettings,
    Profile,
    RetrySettings,
    as_enum,
    parse_fields,
    parse_profile,
)
from console.venues.bybit.spec import SPEC as BYBIT
from console.venues.bybit.spec import BybitSettings
from console.venues.registry import (
    VENUES,
    Connection,
    ConnectorSpec,
    Endpoints,
    connector,
    venue_names,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_build_offers_its_connectors_and_the_sim() -> None:
    assert list(VENUES) == ["binance", "bybit", "deribit"]
    assert venue_names() == ("binance", "bybit", "deribit", "sim")
    for name, spec in VENUES.items():
        assert spec.name == name and spec.title
        assert (ROOT / "console" / "venues" / name / "spec.py").is_file()
    with pytest.raises(TypeError):
        VENUES["binance"] = BYBIT  # type: ignore[index]


@pytest.mark.parametrize("name", ["okx", "kraken"])
def test_a_venue_without_connector_is_refused_by_name(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        connector(name)
    assert str(info.value) == (f"venue {name!r} has no connector in this build; "
                               "available: binance, bybit, deribit, sim")


def test_the_sim_is_not_a_connector() -> None:
    with pytest.raises(ConfigError, match="embedded simulated exchange"):
        connector(SIM_VENUE)


def test_bybit_urls_per_network() -> None:
    assert BYBIT.endpoints(Profile("t", "bybit")) == Endpoints(
        "https://api-testnet.bybit.com", "wss://stream-testnet.bybit.com/v5/private")
    assert BYBIT.endpoints(Profile("m", "bybit", network=Network.MAINNET)) == Endpoints(
        "https://api.bybit.com", "wss://stream.bybit.com/v5/private")
    spot = Profile("s", "bybit", network=Network.MAINNET,
                   settings=BybitSettings(Category.SPOT))
    assert BYBIT.endpoints(spot).rest == "https://api.bybit.com"  # one host, every category
    custom = Profile("c", "bybit", network=Network.CUSTOM, rest_url="http://127.0.0.1:8080",
                     ws_url="ws://localhost:8081/v5/private")
    assert BYBIT.endpoints(custom) == Endpoints("http://127.0.0.1:8080",
                                                "ws://localhost:8081/v5/private")


def test_settings_of_a_profile() -> None:
    assert BYBIT.settings_of(Profile("x", "bybit")) == BybitSettings()  # no table: defaults
    inverse = BybitSettings(Category.INVERSE, "BTC")
    assert BYBIT.settings_of(Profile("x", "bybit", settings=inverse)) is inverse
    with pytest.raises(ConfigError, match="a sim profile, not a bybit one"):
        BYBIT.settings_of(Profile("x", SIM_VENUE))


def test_bybit_sub_table_is_strict() -> None:
    assert BYBIT.parse_settings({}) == BybitSettings(Category.LINEAR, "USDT")
    assert BYBIT.parse_settings({"category": "option", "settle_coin": "USDC"}) == (
        BybitSettings(Category.OPTION, "USDC"))
    for table, key in (({"category": "perp"}, "category"), ({"settle": "USDT"}, "settle"),
                       ({"settle_coin": "usdt"}, "settle_coin")):
        with pytest.raises(ConfigError, match=f"key {key}"):
            BYBIT.parse_settings(table)
    assert BybitSettings(Category.SPOT, "USDC").to_table() == {
        "category": "spot", "settle_coin": "USDC"}
    assert BYBIT.legacy_keys == {"category", "settle_coin"}
    assert [f.option for f in BYBIT.fields] == ["--category", "--settle-coin",
                                                "--dead-man-s"]


# -- a venue with several markets, as Binance will be ------------------------------------------

@dataclass(frozen=True, slots=True)
class _MarketSettings:
    market: Category = Category.SPOT

    def to_table(self) -> dict[str, object]:
        return {"market": self.market.value}


def _parse_market(table: Mapping[str, object]) -> _MarketSettings:
    return _MarketSettings(**parse_fields(
        table, {"market": lambda k, v: as_enum(k, v, Category)}))


def _two_market_spec(connect: Any = None) -> ConnectorSpec[_MarketSettings]:
    return ConnectorSpec(
        name="twomarkets", title="Two markets", markets=frozenset({Category.SPOT,
                                                                    Category.LINEAR}),
        urls={(Network.TESTNET, Category.SPOT): Endpoints("https://spot.test", "wss://s.test"),
              (Network.TESTNET, Category.LINEAR): Endpoints("https://fut.test",
                                                            "wss://f.test")},
        settings_type=_MarketSettings, parse=_parse_market, market=lambda s: s.market,
        connect=connect or (lambda c: c))


def test_urls_per_market_and_markets_served() -> None:
    spec = _two_market_spec()
    venues = {"twomarkets": spec}
    spot = parse_profile("a", {"venue": "twomarkets", "twomarkets": {"market": "spot"}},
                         venues=venues)
    futures = parse_profile("b", {"venue": "twomarkets", "twomarkets": {"market": "linear"}},
                            venues=venues)
    assert spec.endpoints(spot).rest == "https://spot.test"
    assert spec.endpoints(futures).rest == "https://fut.test"
    with pytest.raises(ConfigError, match=r"no built-in mainnet URLs.*network = \"custom\""):
        spec.endpoints(replace_network(spot, Network.MAINNET))
    with pytest.raises(ConfigError) as info:
        parse_profile("c", {"venue": "twomarkets", "twomarkets": {"market": "inverse"}},
                      venues=venues)
    assert "key twomarkets.category: twomarkets serves linear, spot, not inverse" in str(
        info.value)
    with pytest.raises(ConfigError, match="venue 'bybit' has no connector in this build; "
                                          "available: twomarkets, sim"):
        parse_profile("d", {"venue": "bybit"}, venues=venues)


def replace_network(profile: Profile, network: Network) -> Profile:
    from dataclasses import replace

    return replace(profile, network=network)


def test_build_hands_the_connector_what_the_profile_says() -> None:
    made: list[Connection[_MarketSettings]] = []
    spec = _two_market_spec(connect=lambda c: made.append(c) or "connector")
    profile = Profile("p", "twomarkets", settings=_MarketSettings(Category.LINEAR))
    assert spec.build(profile, api_key="K", api_secret="S3CRET",
                      telemetry=NULL_TELEMETRY) == "connector"
    (connection,) = made
    assert connection.profile is profile
    assert connection.settings == _MarketSettings(Category.LINEAR)
    assert connection.endpoints == Endpoints("https://fut.test", "wss://f.test")
    assert (connection.api_key, connection.api_secret) == ("K", "S3CRET")
    assert "S3CRET" not in repr(connection) and "'K'" not in repr(connection)


def test_bybit_connector_is_configured_from_the_profile() -> None:
    profile = Profile("desk", "bybit", network=Network.MAINNET, account="desk-1",
                      symbols=("BTCUSD",), settings=BybitSettings(Category.INVERSE, "BTC"),
                      policy=PolicySettings(retry=RetrySettings(5, 200, 5000)))
    venue = connector("bybit").build(profile, api_key="key", api_secret="secret",
                                     telemetry=NULL_TELEMETRY)
    try:
        config = venue.config
        assert (config.account, config.category, config.settle_coin, config.symbols) == (
            "desk-1", Category.INVERSE, "BTC", ("BTCUSD",))
        assert (config.rest_url, config.ws_private_url) == (
            "https://api.bybit.com", "wss://stream.bybit.com/v5/private")
        assert (config.retry_tries, config.retry_base_ms, config.retry_max_ms) == (5, 200, 5000)
        assert venue.profile == "desk"
        assert venue.venue == "bybit"  # the ledger keys its rows by the registry's name
    finally:
        asyncio.run(venue.aclose())


def test_the_registry_does_not_import_client_libraries() -> None:
    """Listing profiles or parsing the CLI must not pay for pybit (connect imports it)."""
    code = ("import sys, console.venues.registry, console.__main__ as m; m.build_parser(); "
            "print(sorted(x for x in ('pybit', 'aiohttp', 'console.venues.bybit.client') "
            "if x in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


# -- what a new venue must add: the import-linter contracts name it -----------------------------

def _contracts() -> list[dict[str, Any]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, Any]] = data["tool"]["importlinter"]["contracts"]
    return contracts


def test_every_connector_package_is_in_the_independence_contract() -> None:
    independent = [c for c in _contracts() if c["type"] == "independence"
                   and all(m.startswith("console.venues.") for m in c["modules"])]
    assert len(independent) == 1, independent
    assert set(independent[0]["modules"]) == {f"console.venues.{name}" for name in VENUES}


def test_only_the_registry_reaches_the_connector_packages() -> None:
    forbidding = [c for c in _contracts() if c["type"] == "forbidden"
                  and {f"console.venues.{name}" for name in VENUES}
                  <= set(c["forbidden_modules"])]
    sources = {m for c in forbidding for m in c["source_modules"]}
    assert {"console.engine", "console.ui", "console.reconcile", "console.domain",
            "console.store", "console.profiles"} <= sources


def test_every_sim_front_end_package_is_in_its_independence_contract() -> None:
    from console.sim.frontends import FRONT_ENDS

    independent = [c for c in _contracts() if c["type"] == "independence"
                   and all(m.startswith("console.sim.") for m in c["modules"])]
    assert len(independent) == 1, independent
    assert set(independent[0]["modules"]) == {f"console.sim.{name}" for name in FRONT_ENDS}


def test_profiles_add_assumes_bybit_without_venue() -> None:
    """Registering a venue that sorts first must not change what `profiles add` means."""
    from console.venues.registry import DEFAULT_VENUE, VENUES

    assert DEFAULT_VENUE == "bybit" and DEFAULT_VENUE in VENUES
    assert sorted(VENUES)[0] != DEFAULT_VENUE  # binance sorts first: the default is kept
