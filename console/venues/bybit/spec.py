"""Bybit's registry entry: its markets, URLs, profile sub-table and how it is connected.

A Bybit profile's own fields live in `[profiles.NAME.bybit]`:

    [profiles.desk.bybit]
    category = "linear"     # the v5 category this connection trades (one per profile)
    settle_coin = "USDT"    # derivatives without a symbol list: every symbol settled in it
    dead_man_s = "10"       # disconnection protection (DCP) window, 3..300 s; "0" = off

Profiles written before the sub-table existed had both keys at the top of
`[profiles.NAME]`; they are still read (`legacy_keys`), with a warning.

Nothing here imports pybit: `_connect` imports the client when a connection is made.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from console.domain import Category
from console.profiles import FieldParser, Network, ProfileValueError, as_enum, as_str, parse_fields
from console.venues.spec import Connection, ConnectorSpec, Endpoints, SettingField

if TYPE_CHECKING:
    from console.venues.bybit.client import BybitVenue

_COIN = re.compile(r"^[A-Z0-9]{1,16}$")
_SECONDS = re.compile(r"[0-9]{1,6}")
DEAD_MAN_MIN_S: Final = 3
DEAD_MAN_MAX_S: Final = 300
"""Bybit's DCP timeWindow range (docs/v5/order/dcp)."""

URLS: Final[Mapping[tuple[Network, Category | None], Endpoints]] = {
    (Network.TESTNET, None): Endpoints("https://api-testnet.bybit.com",
                                       "wss://stream-testnet.bybit.com/v5/private"),
    (Network.MAINNET, None): Endpoints("https://api.bybit.com",
                                       "wss://stream.bybit.com/v5/private"),
}
"""One host per network for every category (the unified account)."""


@dataclass(frozen=True, slots=True)
class BybitSettings:
    """The fields of a profile only Bybit has."""

    category: Category = Category.LINEAR
    settle_coin: str = "USDT"
    dead_man_s: int = 0
    """Disconnection protection window in seconds (0 = off): when every private
    connection of the console is gone this long, Bybit cancels the category's orders."""

    def __post_init__(self) -> None:
        if not isinstance(self.category, Category):
            raise ProfileValueError("category", f"{self.category!r} is not a Category")
        if not isinstance(self.settle_coin, str) or not _COIN.match(self.settle_coin):
            raise ProfileValueError("settle_coin", f"{self.settle_coin!r} must be an "
                                                   "upper-case coin code such as USDT")
        if isinstance(self.dead_man_s, bool) or not isinstance(self.dead_man_s, int) or not (
                self.dead_man_s == 0 or DEAD_MAN_MIN_S <= self.dead_man_s <= DEAD_MAN_MAX_S):
            raise ProfileValueError("dead_man_s", f"{self.dead_man_s!r} must be 0 (off) or "
                                                  f"{DEAD_MAN_MIN_S} to {DEAD_MAN_MAX_S} "
                                                  "seconds (Bybit's DCP window)")

    def to_table(self) -> dict[str, object]:
        table: dict[str, object] = {"category": self.category.value,
                                    "settle_coin": self.settle_coin}
        if self.dead_man_s:
            table["dead_man_s"] = str(self.dead_man_s)
        return table


def _as_seconds(key: str, value: object) -> int:
    """Seconds as the CLI and the dialog write them (text), or a TOML integer."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = as_str(key, value)
    if not _SECONDS.fullmatch(text):
        raise ProfileValueError(key, f"{text!r} is not a whole number of seconds")
    return int(text)


_KEYS: Final[Mapping[str, FieldParser]] = {
    "category": lambda key, value: as_enum(key, value, Category),
    "settle_coin": as_str,
    "dead_man_s": _as_seconds,
}


def parse(table: Mapping[str, object]) -> BybitSettings:
    return BybitSettings(**parse_fields(table, _KEYS))


def _connect(connection: Connection[BybitSettings]) -> BybitVenue:
    from console.venues.bybit import BybitConfig, BybitVenue

    profile, settings, urls = connection.profile, connection.settings, connection.endpoints
    retry = profile.policy.retry
    config = BybitConfig(
        account=profile.account, category=settings.category, rest_url=urls.rest,
        ws_private_url=urls.ws_private, symbols=profile.symbols,
        settle_coin=settings.settle_coin, retry_tries=retry.tries,
        retry_base_ms=retry.base_ms, retry_max_ms=retry.max_ms,
        dead_man_ms=settings.dead_man_s * 1000 or None)
    return BybitVenue(config, connection.api_key, connection.api_secret,
                      profile=profile.name, telemetry=connection.telemetry)


def _market(settings: BybitSettings) -> Category:
    return settings.category


def _scope(settings: BybitSettings) -> Mapping[str, str]:
    """A profile reconciles one category, and for derivatives the symbols settled in one
    coin (spot has no settle coin)."""
    if settings.category is Category.SPOT:
        return {"category": settings.category.value}
    return {"category": settings.category.value, "settle_coin": settings.settle_coin}


SPEC: Final = ConnectorSpec(
    name="bybit",
    title="Bybit (v5 unified account)",
    markets=frozenset(Category),
    urls=URLS,
    settings_type=BybitSettings,
    parse=parse,
    market=_market,
    connect=_connect,
    scope=_scope,
    fields=(
        SettingField("category", "Category", "the v5 category this profile trades",
                     default=Category.LINEAR.value, choices=tuple(c.value for c in Category)),
        SettingField("settle_coin", "Settle coin", "derivatives without --symbols: every "
                     "symbol settled in this coin", default="USDT"),
        SettingField("dead_man_s", "Dead-man's switch (s)", "disconnection protection: "
                     "Bybit cancels the category's orders when the console's connection "
                     "is gone this long (3-300; the account needs DCP enabled); 0 = off",
                     default="0"),
    ),
    legacy_keys=frozenset({"category", "settle_coin"}),
)
