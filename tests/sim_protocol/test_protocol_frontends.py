"""The sim front-end registry, and what every registered front-end must offer."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from console.domain.enums import Category
from console.errors import ConfigError
from console.sim.core import SimExchange
from console.sim.frontends import DEFAULT_FRONT_END, FRONT_ENDS, FrontEndSpec, front_end
from console.sim.protocol.faults import Faults
from console.sim.protocol.frontend import FrontEnd
from console.sim.protocol.keys import ApiKey, KeyStore
from console.sim.server import build_sim

DESCRIBED = ["venue", "rest_url", "ws_private_url", "api_key", "api_secret", "account"]


def described_keys(info: dict[str, str | None]) -> list[str]:
    """The described keys, less a venue's further URLs (`*_url`, e.g. Binance's stream
    URL of the market not chosen), which sit between the URLs and the key."""
    extra = [k for k in info if k.endswith("_url") and k not in DESCRIBED]
    assert all(info[k] and str(info[k]).startswith(("http://", "ws://")) for k in extra)
    return [k for k in info if k not in extra]


def test_the_registry_lists_bybit_first_by_name() -> None:
    assert next(iter(FRONT_ENDS)) == DEFAULT_FRONT_END == "bybit"
    for name, spec in FRONT_ENDS.items():
        assert spec.name == name and spec.title and spec.categories
    assert front_end("bybit").categories == {Category.LINEAR, Category.INVERSE, Category.SPOT}


def test_an_unknown_front_end_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="'kraken' is not available; available: bybit"):
        front_end("kraken")


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": "Bybit"}, "lower-case"),
    ({"name": ""}, "lower-case"),
    ({"title": "two\nlines"}, "one non-empty line"),
    ({"title": "  "}, "one non-empty line"),
    ({"categories": frozenset()}, "no category"),
])
def test_specs_are_checked_when_declared(fields: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"name": "x", "title": "X", "categories": frozenset({Category.SPOT}),
                            "build": front_end("bybit").build}
    with pytest.raises(ValueError, match=message):
        FrontEndSpec(**{**base, **fields})


def exchange_with(*accounts: str) -> SimExchange:
    exchange = SimExchange(seed=1)
    for account in accounts:
        exchange.create_account(account, {"USDT": Decimal(100)})
    return exchange


@pytest.mark.parametrize("name", list(FRONT_ENDS))
def test_every_front_end_builds_starts_describes_and_stops(name: str) -> None:
    spec = FRONT_ENDS[name]
    keys = KeyStore([ApiKey("key-1", "secret-1", "main")])
    built: FrontEnd = spec.build(exchange_with("main"), keys=keys, faults="ws_dup=0.5",
                                 seed=3)
    assert built.venue == name and built.keys is keys
    assert isinstance(built.faults, Faults) and "ws_dup=0.5" in built.faults.describe()

    async def main() -> dict[str, str | None]:
        await built.start("127.0.0.1", 0)
        try:
            assert built.running
            with pytest.raises(RuntimeError, match="already running"):
                await built.start()
            async with aiohttp.ClientSession() as session, \
                    session.get(f"{built.rest_url}/no/such/path") as resp:
                assert resp.status == 404
            assert await built.disconnect_private() == 0
            return built.describe()
        finally:
            await built.stop()

    described = asyncio.run(main())
    assert not built.running
    assert described_keys(described) == DESCRIBED
    assert described["venue"] == name
    assert (described["api_key"], described["api_secret"], described["account"]) \
        == ("key-1", "secret-1", "main")
    assert described["rest_url"] == built.urls()["rest_url"]
    assert str(described["rest_url"]).startswith("http://127.0.0.1:")
    assert str(described["ws_private_url"]).startswith("ws://127.0.0.1:")


@pytest.mark.parametrize("name", list(FRONT_ENDS))
def test_without_keys_a_fresh_key_is_made_per_account(name: str) -> None:
    built = FRONT_ENDS[name].build(exchange_with("main", "other"))
    assert built.keys.accounts == {"main", "other"}
    assert all(len(k.secret) == 36 for k in built.keys)


def test_a_key_for_a_missing_account_is_refused() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        front_end("bybit").build(exchange_with("main"), keys={"k": ("s", "ghost")})


def test_build_sim_defaults_to_the_first_registered_front_end() -> None:
    setup = build_sim(api_key="k", api_secret="s")
    assert setup.venue == DEFAULT_FRONT_END
    info = setup.info()
    assert described_keys(info) == [*DESCRIBED, "scenario"]
    assert (info["api_key"], info["api_secret"], info["account"], info["scenario"]) \
        == ("k", "s", "main", None)
