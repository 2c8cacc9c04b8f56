"""What one Deribit account connection needs to know, apart from its secrets.

The client id and secret are deliberately not part of this record: they come from the
keyring and go straight into `DeribitVenue(...)`, so that a config can be logged, shown,
compared and stored without ever carrying a secret.

One config is one settlement currency: BTC or ETH (the coin-settled, inverse futures of
that coin: BTC-PERPETUAL, amounts in USD) or USDC (the linear USDC-settled perpetuals:
BTC_USDC-PERPETUAL, amounts in the base coin). Kind "future" only: options are out of
scope. `rest_url` is the bare origin (https://www.deribit.com, or the simulated
front-end's http://127.0.0.1:PORT): requests go to `<origin>/api/v2/<method>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from console.domain.enums import Category
from console.errors import ConfigError

CURRENCIES: Final = {"BTC": Category.INVERSE, "ETH": Category.INVERSE,
                     "USDC": Category.LINEAR}
"""The settlement currencies a profile may name, and the market each one means."""
KIND: Final = "future"
MIN_HEARTBEAT_S: Final = 10
"""public/set_heartbeat refuses intervals below 10 s."""
MAX_TRADES_PAGE: Final = 1000
"""get_user_trades_*: `count` is at most 1000."""

DEFAULT_CREDIT_POOL: Final = 50_000
DEFAULT_CREDIT_REFILL_PER_S: Final = 10_000
DEFAULT_CREDIT_COST: Final = 500
"""Deribit's credit figures for a default tier as NautilusTrader quotes them (UNVERIFIED:
tier-dependent, not on a primary page); configurable."""
DEFAULT_RESERVE_SHARE: Final = 10
"""Without `credit_reserve`: one tenth of the pool is kept for the priority lane."""


@dataclass(frozen=True, slots=True)
class DeribitConfig:
    """One Deribit account, one settlement currency (or the simulated Deribit front-end:
    only the URLs differ). Times are milliseconds unless the name says seconds."""

    account: str
    currency: str = "BTC"
    rest_url: str = "https://www.deribit.com"
    ws_private_url: str = "wss://www.deribit.com/ws/api/v2"
    retry_tries: int = 3
    retry_base_ms: int = 1000
    retry_max_ms: int = 30000
    timeout_s: float = 10.0
    heartbeat_s: int = 30
    """public/set_heartbeat interval: Deribit's test_request comes this often and must be
    answered; silence from the server for two intervals ends the connection."""
    token_refresh_margin_s: float = 60.0
    """Refresh the access token (refresh_token grant) this long before it expires."""
    dead_man: bool = False
    """private/enable_cancel_on_disconnect (scope connection) on the stream's socket; the
    orders are then created and edited over that socket (the switch covers only the
    orders created on its connection: see `client`)."""
    credit_pool: int = DEFAULT_CREDIT_POOL
    credit_refill_per_s: int = DEFAULT_CREDIT_REFILL_PER_S
    credit_cost: int = DEFAULT_CREDIT_COST
    """Credits one request costs: requests wait ahead so that our own bursts never empty
    the pool (an empty pool is 10028, which ends the session)."""
    credit_reserve: int | None = None
    """Credits only the priority lane (the emergency stop) may spend: ordinary requests
    wait rather than take the pool below it. None: a tenth of the pool."""
    auth_retry_base_ms: int = 60_000
    """After Deribit refused the credentials: how long requests fail fast, doubled per
    refusal in a row up to `auth_retry_max_ms` (see `_common.auth_gate`)."""
    auth_retry_max_ms: int = 900_000
    recent_trades_ms: int = 86_400_000
    """Deribit's trade queries answer only this far back without `historical=true`."""
    page_count: int = MAX_TRADES_PAGE

    def __post_init__(self) -> None:
        if not isinstance(self.account, str) or not self.account.strip():
            raise ConfigError("deribit: the account (ledger name) is required")
        if self.currency not in CURRENCIES:
            raise ConfigError(f"deribit: currency {self.currency!r} must be one of "
                              f"{', '.join(CURRENCIES)}")
        _check_url("rest_url", self.rest_url, ("http", "https"))
        _check_url("ws_private_url", self.ws_private_url, ("ws", "wss"))
        positive = {
            "retry_tries": self.retry_tries, "retry_base_ms": self.retry_base_ms,
            "retry_max_ms": self.retry_max_ms, "timeout_s": self.timeout_s,
            "heartbeat_s": self.heartbeat_s,
            "token_refresh_margin_s": self.token_refresh_margin_s,
            "credit_pool": self.credit_pool, "credit_refill_per_s": self.credit_refill_per_s,
            "credit_cost": self.credit_cost, "auth_retry_base_ms": self.auth_retry_base_ms,
            "auth_retry_max_ms": self.auth_retry_max_ms,
            "recent_trades_ms": self.recent_trades_ms, "page_count": self.page_count,
        }
        for name, value in positive.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"deribit: {name} must be greater than zero, not {value!r}")
        if not isinstance(self.dead_man, bool):
            raise ConfigError(f"deribit: dead_man must be true or false, not "
                              f"{self.dead_man!r}")
        if self.heartbeat_s < MIN_HEARTBEAT_S:
            raise ConfigError(f"deribit: heartbeat_s must be at least {MIN_HEARTBEAT_S}")
        if self.retry_base_ms > self.retry_max_ms:
            raise ConfigError("deribit: retry_base_ms cannot exceed retry_max_ms")
        if self.auth_retry_base_ms > self.auth_retry_max_ms:
            raise ConfigError("deribit: auth_retry_base_ms cannot exceed auth_retry_max_ms")
        if self.credit_cost > self.credit_pool:
            raise ConfigError("deribit: credit_cost cannot exceed credit_pool")
        reserve = self.credit_reserve
        if reserve is not None and (isinstance(reserve, bool) or not isinstance(reserve, int)
                                    or not 0 <= reserve <= self.credit_pool - self.credit_cost):
            raise ConfigError(f"deribit: credit_reserve must be a whole number from 0 to "
                              f"credit_pool - credit_cost, not {reserve!r}")
        if self.page_count > MAX_TRADES_PAGE:
            raise ConfigError(f"deribit: page_count {self.page_count} exceeds "
                              f"{MAX_TRADES_PAGE}")

    @property
    def category(self) -> Category:
        return CURRENCIES[self.currency]

    @property
    def reserved_credits(self) -> int:
        """`credit_reserve`, or a tenth of the pool (never more than the pool less one
        request's cost: an ordinary request must be able to go at all)."""
        if self.credit_reserve is not None:
            return self.credit_reserve
        return min(self.credit_pool // DEFAULT_RESERVE_SHARE,
                   self.credit_pool - self.credit_cost)

    @property
    def origin(self) -> str:
        """`rest_url` without a trailing slash."""
        return self.rest_url.rstrip("/")


def _check_url(name: str, url: str, schemes: tuple[str, ...]) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(f"deribit: {name} {url!r} must be a {'/'.join(schemes)} URL")
    if parts.query or parts.fragment:
        raise ConfigError(f"deribit: {name} {url!r} must not carry a query or fragment")
