"""Deribit's registry entry and config: the strict `[profiles.NAME.deribit]` sub-table,
the market each currency means, built-in URLs, and a config that refuses nonsense."""

from __future__ import annotations

import pytest

from console.domain import Category
from console.errors import ConfigError
from console.profiles import Network, Profile, ProfileValueError
from console.venues.deribit.config import DeribitConfig
from console.venues.deribit.spec import SPEC, DeribitSettings, parse
from console.venues.registry import DEFAULT_VENUE, VENUES, connector


def test_the_sub_table_is_read_strictly() -> None:
    assert parse({}) == DeribitSettings("BTC", False)
    assert parse({"currency": "USDC", "dead_man": "on"}) == DeribitSettings("USDC", True)
    assert parse({"dead_man": True}).dead_man
    for table, key in (({"currency": "btc"}, "currency"), ({"currency": 1}, "currency"),
                       ({"dead_man": "yes"}, "dead_man"), ({"kind": "option"}, "kind")):
        with pytest.raises(ProfileValueError) as caught:
            SPEC.parse_settings(table)
        assert caught.value.key == key
    for settings in (DeribitSettings(), DeribitSettings("ETH", True)):
        assert parse(settings.to_table()) == settings


def test_the_currency_picks_the_market() -> None:
    assert SPEC.market(parse({"currency": "BTC"})) is Category.INVERSE
    assert SPEC.market(parse({"currency": "ETH"})) is Category.INVERSE
    assert SPEC.market(parse({"currency": "USDC"})) is Category.LINEAR
    assert DeribitConfig("a", currency="USDC").category is Category.LINEAR


def test_the_registry_offers_deribit_after_binance_and_bybit() -> None:
    assert connector("deribit") is SPEC and list(VENUES)[-1] == "deribit"
    assert DEFAULT_VENUE == "bybit"
    assert {f.key for f in SPEC.fields} == {"currency", "dead_man"}


def test_built_in_urls_per_network() -> None:
    for network, host in ((Network.MAINNET, "www.deribit.com"),
                          (Network.TESTNET, "test.deribit.com")):
        profile = Profile(name="d", venue="deribit", network=network,
                          settings=parse({"currency": "USDC"}))
        urls = SPEC.endpoints(profile)
        assert (urls.rest, urls.ws_private) == (f"https://{host}",
                                                f"wss://{host}/ws/api/v2")


@pytest.mark.parametrize("changes", [
    {"currency": "SOL"}, {"rest_url": "ftp://x"}, {"ws_private_url": "http://x"},
    {"heartbeat_s": 5}, {"credit_cost": 60_000}, {"page_count": 5000}, {"dead_man": "on"},
])
def test_the_config_refuses_nonsense(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        DeribitConfig("a", **changes)  # type: ignore[arg-type]
