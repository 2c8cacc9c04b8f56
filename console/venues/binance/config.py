"""What one Binance account connection needs to know, apart from its secrets.

The API key and secret are deliberately not part of this record: they come from the
keyring and go straight into `BinanceVenue(...)`, so that a config can be logged, shown,
compared and stored without ever carrying a secret.

One config is one market: spot (`Category.SPOT`, REST under `<rest_url>/api/v3`) or
USD-M futures (`Category.LINEAR`, REST under `<rest_url>/fapi/v1|v2|v3`). `rest_url` is
the bare origin (https://fapi.binance.com, or the simulated front-end's
http://127.0.0.1:PORT); the connector derives every API base from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, cast
from urllib.parse import urlsplit

from console.domain.enums import Category
from console.errors import ConfigError

MARKETS: Final = (Category.SPOT, Category.LINEAR)
MAX_RECV_WINDOW_MS: Final = 60_000
"""Binance refuses a larger recvWindow (its docs: "The max cannot go beyond 60,000")."""
MAX_PAGE_LIMIT: Final = 1000
"""userTrades, myTrades, allOrders: at most 1000 items a page."""
MIN_DEAD_MAN_MS: Final = 10_000
"""Binance checks the countdowns about every 10 ms and advises against small or precise
countdowns; below 10 s a slow heartbeat would cancel every order."""

DEFAULT_WEIGHT_LIMIT_1M: Final = {Category.SPOT: 6000, Category.LINEAR: 2400}
"""REQUEST_WEIGHT per minute per IP, as exchangeInfo's rateLimits report them (spot
6000, USD-M 2400). Binance's headers say what is used, not the limit: it is configured."""
DEFAULT_ORDER_LIMITS: Final = {
    Category.SPOT: (("10s", 100, 10_000), ("1d", 200_000, 86_400_000)),
    Category.LINEAR: (("10s", 300, 10_000), ("1m", 1200, 60_000)),
}
"""ORDERS limits per account: (header interval, limit, interval ms). The headers are
X-MBX-ORDER-COUNT-10S and -1D on spot, -10S and -1M on USD-M."""


@dataclass(frozen=True, slots=True)
class BinanceConfig:
    """One account on Binance spot or USD-M futures (or on the simulated Binance
    front-end: only the URLs differ). Times are milliseconds unless the name says
    seconds."""

    account: str
    market: Category = Category.LINEAR
    rest_url: str = "https://fapi.binance.com"
    ws_private_url: str = "wss://fstream.binance.com/private/ws"
    symbols: tuple[str, ...] = ()
    """The instruments in scope. Spot needs them (myTrades is per symbol); USD-M without
    them reads the symbols positionRisk lists (those with a position or open orders)."""
    recv_window_ms: int = 5000
    """How long a signed request stays valid (Binance's default 5000; at most 60000: it
    is also the window in which a captured request replays)."""
    retry_tries: int = 3
    retry_base_ms: int = 1000
    retry_max_ms: int = 30000
    timeout_s: float = 10.0
    listen_key_keepalive_s: float = 1800.0
    """USD-M: a listenKey lives 60 min; it is extended every 30 min."""
    ws_max_age_s: float = 23 * 3600.0
    """Reconnect before Binance cuts a connection at 24 h."""
    dead_man_ms: int | None = None
    """USD-M countdownCancelAll heartbeat: None = off (the engine may still arm it
    through `set_dead_man_switch`)."""
    clock_skew_warn_ms: int = 1000
    auth_retry_base_ms: int = 60_000
    """After Binance refused the key or signature: how long requests fail fast, doubled
    per refusal in a row up to `auth_retry_max_ms` (see `_common.auth_gate`)."""
    auth_retry_max_ms: int = 900_000
    fills_history_days: int = 180
    """How far back userTrades answers (USD-M: "the past 6 months"); older windows are
    not asked for."""
    page_limit: int = MAX_PAGE_LIMIT
    weight_limit_1m: int | None = None
    """None: the market's documented default (`DEFAULT_WEIGHT_LIMIT_1M`)."""

    def __post_init__(self) -> None:
        if not isinstance(self.account, str) or not self.account.strip():
            raise ConfigError("binance: the account (ledger name) is required")
        if self.market not in MARKETS:
            raise ConfigError(f"binance: market {self.market!r} must be spot or USD-M "
                              "futures (Category.SPOT or Category.LINEAR)")
        _check_url("rest_url", self.rest_url, ("http", "https"))
        _check_url("ws_private_url", self.ws_private_url, ("ws", "wss"))
        if isinstance(cast(object, self.symbols), str):
            raise ConfigError("binance: symbols must be a tuple of names, not one string")
        for symbol in self.symbols:
            if not isinstance(symbol, str) or not symbol.isascii() or not symbol.isalnum() \
                    or symbol.upper() != symbol:
                raise ConfigError(f"binance: symbol {symbol!r} must be upper-case "
                                  "letters/digits")
        positive = {
            "recv_window_ms": self.recv_window_ms, "retry_tries": self.retry_tries,
            "retry_base_ms": self.retry_base_ms, "retry_max_ms": self.retry_max_ms,
            "timeout_s": self.timeout_s, "listen_key_keepalive_s": self.listen_key_keepalive_s,
            "ws_max_age_s": self.ws_max_age_s, "clock_skew_warn_ms": self.clock_skew_warn_ms,
            "auth_retry_base_ms": self.auth_retry_base_ms,
            "auth_retry_max_ms": self.auth_retry_max_ms,
            "fills_history_days": self.fills_history_days, "page_limit": self.page_limit,
        }
        for name, value in positive.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"binance: {name} must be greater than zero, not {value!r}")
        if self.recv_window_ms > MAX_RECV_WINDOW_MS:
            raise ConfigError(f"binance: recv_window_ms {self.recv_window_ms} exceeds "
                              f"{MAX_RECV_WINDOW_MS} (Binance refuses more)")
        if self.retry_base_ms > self.retry_max_ms:
            raise ConfigError("binance: retry_base_ms cannot exceed retry_max_ms")
        if self.auth_retry_base_ms > self.auth_retry_max_ms:
            raise ConfigError("binance: auth_retry_base_ms cannot exceed auth_retry_max_ms")
        if self.listen_key_keepalive_s >= 3600:
            raise ConfigError("binance: listen_key_keepalive_s must be below 3600 (a "
                              "listenKey dies 60 min after its last keepalive)")
        if self.ws_max_age_s >= 24 * 3600:
            raise ConfigError("binance: ws_max_age_s must be below 24 h (Binance cuts "
                              "connections at 24 h)")
        if self.page_limit > MAX_PAGE_LIMIT:
            raise ConfigError(f"binance: page_limit {self.page_limit} exceeds "
                              f"{MAX_PAGE_LIMIT}")
        if self.weight_limit_1m is not None and self.weight_limit_1m <= 0:
            raise ConfigError("binance: weight_limit_1m must be greater than zero")
        if self.dead_man_ms is not None:
            if self.market is not Category.LINEAR:
                raise ConfigError("binance: the dead-man's switch (countdownCancelAll) "
                                  "exists on USD-M futures only")
            if isinstance(self.dead_man_ms, bool) or self.dead_man_ms < MIN_DEAD_MAN_MS:
                raise ConfigError(f"binance: dead_man_ms must be at least {MIN_DEAD_MAN_MS}")

    @property
    def futures(self) -> bool:
        return self.market is Category.LINEAR

    @property
    def weight_limit(self) -> int:
        return self.weight_limit_1m or DEFAULT_WEIGHT_LIMIT_1M[self.market]

    @property
    def order_limits(self) -> tuple[tuple[str, int, int], ...]:
        return DEFAULT_ORDER_LIMITS[self.market]

    @property
    def origin(self) -> str:
        """`rest_url` without a trailing slash: the base every API path is added to."""
        return self.rest_url.rstrip("/")


def _check_url(name: str, url: str, schemes: tuple[str, ...]) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(f"binance: {name} {url!r} must be a {'/'.join(schemes)} URL")
    if parts.query or parts.fragment:
        raise ConfigError(f"binance: {name} {url!r} must not carry a query or fragment")
