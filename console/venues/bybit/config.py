"""What one Bybit account connection needs to know, apart from its secrets.

The API key and secret are deliberately not part of this record: they come from the
keyring and go straight into `BybitVenue(...)`, so that a config can be logged, shown,
compared and stored without ever carrying a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, cast
from urllib.parse import urlsplit

from console.domain.enums import Category
from console.errors import ConfigError

MAINNET_REST: Final = "https://api.bybit.com"
MAINNET_WS_PRIVATE: Final = "wss://stream.bybit.com/v5/private"
TESTNET_REST: Final = "https://api-testnet.bybit.com"
TESTNET_WS_PRIVATE: Final = "wss://stream-testnet.bybit.com/v5/private"

MAX_RECV_WINDOW_MS: Final = 60_000
"""Bybit publishes no ceiling for X-BAPI-RECV-WINDOW; a minute is the usual exchange
ceiling, and the simulated front-end refuses more (retCode 10002)."""

DEAD_MAN_MIN_MS: Final = 3_000
DEAD_MAN_MAX_MS: Final = 300_000
"""Bybit's DCP timeWindow range, [3, 300] seconds."""

MAX_PAGE_LIMITS: Final = {"order": 50, "execution": 100, "position": 200}
"""Bybit's own maxima per listing endpoint (order/realtime and history, execution/list,
position/list); a larger limit is refused by the venue, so it is refused here first."""


@dataclass(frozen=True, slots=True)
class BybitConfig:
    """One account on Bybit v5 (or on the simulated Bybit front-end: only the URLs differ).

    `symbols` empty means "every symbol settled in `settle_coin`" for derivatives and every
    symbol for spot. Times are milliseconds unless the name says seconds.
    """

    account: str
    category: Category = Category.LINEAR
    rest_url: str = MAINNET_REST
    ws_private_url: str = MAINNET_WS_PRIVATE
    symbols: tuple[str, ...] = ()
    settle_coin: str = "USDT"
    position_idx: int = 0
    """Sent with derivative orders: 0 in one-way mode (1/2 are hedge-mode legs)."""
    recv_window_ms: int = 5000
    """How long a signed request stays valid (Bybit's default 5000; at most
    `MAX_RECV_WINDOW_MS`: it is also the window in which a captured request replays)."""
    timeout_s: float = 10.0
    retry_tries: int = 3
    retry_base_ms: int = 1000
    retry_max_ms: int = 30000
    rest_workers: int = 4
    """Worker threads for pybit's blocking HTTP calls, one pybit session per thread."""
    priority_workers: int = 4
    """Threads (and pybit sessions) reserved for the priority lane (emergency stop)."""
    clock_skew_warn_ms: int = 1000
    ws_heartbeat_s: float = 20.0
    ws_reconnect_attempts: int = 10
    ws_reconnect_base_ms: int = 500
    ws_reconnect_max_ms: int = 30000
    ws_check_interval_s: float = 1.0
    """How often the supervisor looks at the socket: pybit dies silently, so we poll."""
    ws_handshake_timeout_s: float = 10.0
    """How long to wait for the auth and subscribe acknowledgements of a new socket."""
    auth_retry_base_ms: int = 60_000
    """After the venue refused the key or signature (REST or the stream's login): how
    long requests fail fast and the stream waits before trying again; doubled per
    refusal in a row, up to `auth_retry_max_ms` (see `_common.auth_gate`)."""
    auth_retry_max_ms: int = 900_000
    fills_history_days: int = 730
    """How far back Bybit keeps executions (2 years): older windows are not queried."""
    order_page_limit: int = 50
    execution_page_limit: int = 100
    position_page_limit: int = 200
    dead_man_ms: int | None = None
    """Disconnection protection (DCP): when set, the stream arms it with this window
    (whole seconds, 3 to 300: Bybit's range) and keeps it armed while it runs; None: off
    (it can still be armed through `set_dead_man_switch`)."""

    def __post_init__(self) -> None:
        if not self.account:
            raise ConfigError("bybit: the account (ledger name) is required")
        if not isinstance(self.category, Category):
            raise ConfigError(f"bybit: category {self.category!r} is not a Category")
        _check_url("rest_url", self.rest_url, ("http", "https"))
        _check_url("ws_private_url", self.ws_private_url, ("ws", "wss"))
        if isinstance(cast(object, self.symbols), str):
            raise ConfigError("bybit: symbols must be a tuple of names, not one string")
        for symbol in self.symbols:
            if not symbol or not symbol.isalnum() or symbol.upper() != symbol:
                raise ConfigError(f"bybit: symbol {symbol!r} must be upper-case letters/digits")
        if self.category is not Category.SPOT and not self.symbols and not self.settle_coin:
            raise ConfigError("bybit: derivatives need symbols or a settle coin")
        if self.position_idx not in (0, 1, 2):
            raise ConfigError(f"bybit: position_idx {self.position_idx} must be 0, 1 or 2")
        positive = {
            "recv_window_ms": self.recv_window_ms, "timeout_s": self.timeout_s,
            "retry_tries": self.retry_tries, "retry_base_ms": self.retry_base_ms,
            "retry_max_ms": self.retry_max_ms, "rest_workers": self.rest_workers,
            "priority_workers": self.priority_workers,
            "ws_heartbeat_s": self.ws_heartbeat_s,
            "ws_reconnect_attempts": self.ws_reconnect_attempts,
            "ws_reconnect_base_ms": self.ws_reconnect_base_ms,
            "ws_reconnect_max_ms": self.ws_reconnect_max_ms,
            "ws_check_interval_s": self.ws_check_interval_s,
            "ws_handshake_timeout_s": self.ws_handshake_timeout_s,
            "fills_history_days": self.fills_history_days,
            "auth_retry_base_ms": self.auth_retry_base_ms,
            "auth_retry_max_ms": self.auth_retry_max_ms,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ConfigError(f"bybit: {name} must be greater than zero, not {value}")
        if self.retry_base_ms > self.retry_max_ms:
            raise ConfigError("bybit: retry_base_ms cannot exceed retry_max_ms")
        if self.auth_retry_base_ms > self.auth_retry_max_ms:
            raise ConfigError("bybit: auth_retry_base_ms cannot exceed auth_retry_max_ms")
        if self.recv_window_ms > MAX_RECV_WINDOW_MS:
            raise ConfigError(f"bybit: recv_window_ms {self.recv_window_ms} exceeds "
                              f"{MAX_RECV_WINDOW_MS} (a wider window only widens replays)")
        if self.dead_man_ms is not None and (
                isinstance(self.dead_man_ms, bool) or not isinstance(self.dead_man_ms, int)
                or self.dead_man_ms % 1000
                or not DEAD_MAN_MIN_MS <= self.dead_man_ms <= DEAD_MAN_MAX_MS):
            raise ConfigError(f"bybit: dead_man_ms {self.dead_man_ms!r} must be whole seconds "
                              f"from {DEAD_MAN_MIN_MS} to {DEAD_MAN_MAX_MS} (Bybit's DCP "
                              "window), or None")
        if self.ws_heartbeat_s < 2:
            raise ConfigError("bybit: ws_heartbeat_s must be at least 2 seconds")
        for name, value, kind in (("order_page_limit", self.order_page_limit, "order"),
                                  ("execution_page_limit", self.execution_page_limit,
                                   "execution"),
                                  ("position_page_limit", self.position_page_limit,
                                   "position")):
            if not 1 <= value <= MAX_PAGE_LIMITS[kind]:
                raise ConfigError(f"bybit: {name} {value} must be 1..{MAX_PAGE_LIMITS[kind]}")

    @property
    def ws_ping_timeout_s(self) -> float:
        """websocket-client needs the pong timeout strictly below the ping interval."""
        return min(10.0, self.ws_heartbeat_s / 2)


def _check_url(name: str, url: str, schemes: tuple[str, ...]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(f"bybit: {name} {url!r} must be a {'/'.join(schemes)} URL")
    if "{" in url or "}" in url:
        # pybit formats the socket URL with str.format: braces would be misread
        raise ConfigError(f"bybit: {name} {url!r} must not contain braces")
