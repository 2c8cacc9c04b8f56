"""Deribit's registry entry: its markets, URLs, profile sub-table and how it is connected.

A Deribit profile names its settlement currency in `[profiles.NAME.deribit]`:

    [profiles.desk.deribit]
    currency = "BTC"     # "BTC" | "ETH" (inverse futures of that coin) | "USDC" (linear)
    dead_man = "off"     # "on": cancel-on-disconnect for the stream's connection

Kind "future" only (options are out of scope). Deribit serves every market from one
host, so the built-in URLs are per network only. Nothing here imports the client:
`_connect` imports it when a connection is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from console.domain import Category
from console.profiles import FieldParser, Network, ProfileValueError, as_str, parse_fields
from console.venues.deribit.config import CURRENCIES
from console.venues.spec import Connection, ConnectorSpec, Endpoints, SettingField

if TYPE_CHECKING:
    from console.venues.deribit.client import DeribitVenue

DEAD_MAN: Final[Mapping[str, bool]] = {"off": False, "on": True}
DEAD_MAN_NAME: Final[Mapping[bool, str]] = {v: k for k, v in DEAD_MAN.items()}

URLS: Final[Mapping[tuple[Network, Category | None], Endpoints]] = {
    (Network.MAINNET, None): Endpoints("https://www.deribit.com",
                                       "wss://www.deribit.com/ws/api/v2"),
    (Network.TESTNET, None): Endpoints("https://test.deribit.com",
                                       "wss://test.deribit.com/ws/api/v2"),
}


@dataclass(frozen=True, slots=True)
class DeribitSettings:
    """The fields of a profile only Deribit has."""

    currency: str = "BTC"
    dead_man: bool = False

    def __post_init__(self) -> None:
        if self.currency not in CURRENCIES:
            raise ProfileValueError("currency", f"{self.currency!r} is not one of "
                                                f"{', '.join(CURRENCIES)}")
        if not isinstance(self.dead_man, bool):
            raise ProfileValueError("dead_man", f"{self.dead_man!r} is not on or off")

    @property
    def market(self) -> Category:
        return CURRENCIES[self.currency]

    def to_table(self) -> dict[str, object]:
        return {"currency": self.currency, "dead_man": DEAD_MAN_NAME[self.dead_man]}


def _choice(key: str, value: object, choices: Mapping[str, object]) -> object:
    text = as_str(key, value)
    if text not in choices:
        names = " | ".join(f'"{name}"' for name in choices)
        raise ProfileValueError(key, f"{text!r} is not one of {names}")
    return choices[text]


def _as_currency(key: str, value: object) -> str:
    return str(_choice(key, value, {name: name for name in CURRENCIES}))


def _as_dead_man(key: str, value: object) -> bool:
    """"on" / "off" as the CLI and the dialog write it, or a TOML boolean."""
    if isinstance(value, bool):
        return value
    return bool(_choice(key, value, DEAD_MAN))


_KEYS: Final[Mapping[str, FieldParser]] = {"currency": _as_currency,
                                           "dead_man": _as_dead_man}


def parse(table: Mapping[str, object]) -> DeribitSettings:
    return DeribitSettings(**parse_fields(table, _KEYS))


def _connect(connection: Connection[DeribitSettings]) -> DeribitVenue:
    from console.venues.deribit.client import DeribitVenue
    from console.venues.deribit.config import DeribitConfig

    profile, settings, urls = connection.profile, connection.settings, connection.endpoints
    retry = profile.policy.retry
    config = DeribitConfig(
        account=profile.account, currency=settings.currency, rest_url=urls.rest,
        ws_private_url=urls.ws_private, retry_tries=retry.tries,
        retry_base_ms=retry.base_ms, retry_max_ms=retry.max_ms, dead_man=settings.dead_man)
    return DeribitVenue(config, connection.api_key, connection.api_secret,
                        profile=profile.name, telemetry=connection.telemetry)


def _market(settings: DeribitSettings) -> Category:
    return settings.market


def _scope(settings: DeribitSettings) -> Mapping[str, str]:
    """A profile reconciles one settlement currency's instruments (BTC and ETH are both
    inverse: the market alone would not tell them apart)."""
    return {"currency": settings.currency}


SPEC: Final = ConnectorSpec(
    name="deribit",
    title="Deribit (BTC/ETH inverse, USDC linear futures)",
    markets=frozenset({Category.INVERSE, Category.LINEAR}),
    urls=URLS,
    settings_type=DeribitSettings,
    parse=parse,
    market=_market,
    connect=_connect,
    scope=_scope,
    fields=(
        SettingField("currency", "Currency", "the settlement currency this profile trades: "
                     "BTC or ETH (inverse futures of that coin) or USDC (linear USDC "
                     "perpetuals)", default="BTC", choices=tuple(CURRENCIES)),
        SettingField("dead_man", "Dead-man's switch", "on: Deribit cancels this "
                     "connection's orders when the console's stream drops "
                     "(cancel-on-disconnect)", default="off", choices=("off", "on")),
    ),
)
