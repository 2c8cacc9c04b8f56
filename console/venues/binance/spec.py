"""Binance's registry entry: its markets, URLs, profile sub-table and how it is connected.

A Binance profile names its market in `[profiles.NAME.binance]`:

    [profiles.desk.binance]
    market = "usdm"        # "usdm" (USD-M futures) or "spot": one market per profile
    dead_man_s = "120"     # USD-M only: countdownCancelAll heartbeat; "0" = off

Spot and USD-M live on separate hosts, so the built-in URLs are per (network, market).
Nothing here imports ccxt: `_connect` imports the client when a connection is made.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from console.domain import Category
from console.errors import ConfigError
from console.profiles import (
    FieldParser,
    Network,
    Profile,
    ProfileValueError,
    as_str,
    parse_fields,
)
from console.venues.spec import Connection, ConnectorSpec, Endpoints, SettingField

if TYPE_CHECKING:
    from console.venues.binance.client import BinanceVenue

MARKET: Final[Mapping[str, Category]] = {"usdm": Category.LINEAR, "spot": Category.SPOT}
"""The profile's market names (never a domain enum's value)."""
MARKET_NAME: Final[Mapping[Category, str]] = {v: k for k, v in MARKET.items()}
MAX_DEAD_MAN_S: Final = 86_400
_SECONDS: Final = re.compile(r"[0-9]{1,6}")

URLS: Final[Mapping[tuple[Network, Category | None], Endpoints]] = {
    (Network.MAINNET, Category.SPOT): Endpoints(
        "https://api.binance.com", "wss://ws-api.binance.com:443/ws-api/v3"),
    (Network.MAINNET, Category.LINEAR): Endpoints(
        "https://fapi.binance.com", "wss://fstream.binance.com/private/ws"),
    (Network.TESTNET, Category.SPOT): Endpoints(
        "https://testnet.binance.vision", "wss://ws-api.testnet.binance.vision/ws-api/v3"),
    # UNVERIFIED: the futures testnet's user-data socket after the 2026-04-23 move to
    # /private/ws (mainnet's new path is documented; the testnet's is assumed to follow)
    (Network.TESTNET, Category.LINEAR): Endpoints(
        "https://testnet.binancefuture.com", "wss://fstream.binancefuture.com/private/ws"),
}


@dataclass(frozen=True, slots=True)
class BinanceSettings:
    """The fields of a profile only Binance has."""

    market: Category = Category.LINEAR
    dead_man_s: int = 0
    """USD-M countdownCancelAll heartbeat in seconds (0 = off)."""

    def __post_init__(self) -> None:
        if self.market not in MARKET_NAME:
            raise ProfileValueError("market", f"{self.market!r} is not a Binance market "
                                              "(usdm or spot)")
        if isinstance(self.dead_man_s, bool) or not isinstance(self.dead_man_s, int) \
                or not 0 <= self.dead_man_s <= MAX_DEAD_MAN_S:
            raise ProfileValueError("dead_man_s", f"{self.dead_man_s!r} must be 0 (off) to "
                                                  f"{MAX_DEAD_MAN_S} seconds")
        if self.dead_man_s and self.market is not Category.LINEAR:
            raise ProfileValueError("dead_man_s", "the dead-man's switch exists on USD-M "
                                                  "futures only; use 0 with market = spot")
        if 0 < self.dead_man_s < 10:
            raise ProfileValueError("dead_man_s", "must be at least 10 seconds (Binance "
                                                  "advises against short countdowns)")

    def to_table(self) -> dict[str, object]:
        table: dict[str, object] = {"market": MARKET_NAME[self.market]}
        if self.dead_man_s:
            table["dead_man_s"] = str(self.dead_man_s)
        return table


def _as_market(key: str, value: object) -> Category:
    text = as_str(key, value)
    if text not in MARKET:
        choices = " | ".join(f'"{name}"' for name in MARKET)
        raise ProfileValueError(key, f"{text!r} is not one of {choices}")
    return MARKET[text]


def _as_seconds(key: str, value: object) -> int:
    """Seconds as the CLI and the dialog write them (text), or a TOML integer."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = as_str(key, value)
    if not _SECONDS.fullmatch(text):
        raise ProfileValueError(key, f"{text!r} is not a whole number of seconds")
    return int(text)


_KEYS: Final[Mapping[str, FieldParser]] = {"market": _as_market, "dead_man_s": _as_seconds}


def parse(table: Mapping[str, object]) -> BinanceSettings:
    return BinanceSettings(**parse_fields(table, _KEYS))


def _check(profile: Profile, settings: BinanceSettings) -> None:
    """Spot has no account-wide trade list: without symbols a reconciliation cannot ask
    for fills, so such a profile is refused when added (and when connected)."""
    if settings.market is Category.SPOT and not profile.symbols:
        raise ConfigError(f"profile {profile.name!r}: Binance spot lists trades per symbol; "
                          "give the profile its symbols (--symbols)")


def _connect(connection: Connection[BinanceSettings]) -> BinanceVenue:
    from console.venues.binance import BinanceConfig, BinanceVenue

    profile, settings, urls = connection.profile, connection.settings, connection.endpoints
    _check(profile, settings)
    retry = profile.policy.retry
    config = BinanceConfig(
        account=profile.account, market=settings.market, rest_url=urls.rest,
        ws_private_url=urls.ws_private, symbols=profile.symbols, retry_tries=retry.tries,
        retry_base_ms=retry.base_ms, retry_max_ms=retry.max_ms,
        dead_man_ms=settings.dead_man_s * 1000 or None)
    return BinanceVenue(config, connection.api_key, connection.api_secret,
                        profile=profile.name, telemetry=connection.telemetry)


def _market(settings: BinanceSettings) -> Category:
    return settings.market


def _scope(settings: BinanceSettings) -> Mapping[str, str]:
    """Spot and USD-M are separate books of one account (separate APIs and positions)."""
    return {"market": MARKET_NAME[settings.market]}


SPEC: Final = ConnectorSpec(
    name="binance",
    title="Binance (spot, USD-M futures)",
    markets=frozenset(MARKET_NAME),
    urls=URLS,
    settings_type=BinanceSettings,
    parse=parse,
    market=_market,
    connect=_connect,
    check=_check,
    scope=_scope,
    fields=(
        SettingField("market", "Market", "the Binance market this profile trades: usdm "
                     "(USD-M futures) or spot", default="usdm", choices=("usdm", "spot")),
        SettingField("dead_man_s", "Dead-man's switch (s)", "cancel every order of the "
                     "traded symbols when the console goes silent this long (USD-M futures "
                     "only); 0 = off", default="0"),
    ),
)
