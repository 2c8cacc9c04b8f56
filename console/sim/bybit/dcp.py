"""Disconnection protection (DCP): Bybit's dead-man's switch, as the sim serves it.

What Bybit documents (docs/v5/order/dcp, docs/v5/account/dcp-info,
docs/v5/websocket/private/dcp) and the sim does:

* ``POST /v5/order/disconnected-cancel-all {product?, timeWindow}`` sets the window of one
  product: ``product`` is OPTIONS (the default when absent), DERIVATIVES (linear and
  inverse) or SPOT; ``timeWindow`` is a whole number of seconds in [3, 300]. The result is
  empty. Bybit says a change takes about 10 s to apply; the sim applies it at once.
* ``GET /v5/account/query-dcp-info`` lists ``dcpInfos``: ``{product, dcpStatus: "ON",
  timeWindow: "10"}`` per product configured for the account (the window as text; 10 s
  until one is set). An account without DCP gets an empty list.
* A private connection takes part by subscribing ``dcp.future``, ``dcp.spot`` or
  ``dcp.option`` (DERIVATIVES, SPOT, OPTIONS). When every connection of the account
  subscribed to a product's topic is gone, the countdown of that product's window starts;
  a connection subscribing it again before the end stops the countdown. At the end, every
  open order of the account in the product's categories is cancelled (untriggered ones
  too), and the usual order pushes reach the connections still open.

Where Bybit's pages are silent, the sim decides, and says so (UNVERIFIED):
* Unsubscribing the topic withdraws the connection without starting a countdown (the
  connector's way of disarming on a clean exit); only a connection that drops while
  subscribed counts as lost.
* "Gone" is the connection closing (a close frame, a reset, a dropped TCP stream); a
  connection that stays open but stops pinging is not timed out by the sim.
* Setting a window for an account without DCP is refused with 10001 ("DCP is not
  enabled"); the real code is not documented. Every account has DCP unless `enabled`
  says otherwise.
* The bare topic ``dcp`` is not one of the documented names and is refused like any
  unknown topic.
* The cancelled orders carry the sim's ordinary cancel reason (Bybit's cancelType for a
  DCP cancel is not documented).

`time_scale` shortens every countdown for tests (0.1: a 3 s window ends after 0.3 s);
`triggers` records what fired.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from aiohttp import web

from console.domain.enums import Category
from console.sim.bybit import params as p
from console.sim.bybit.base import Result
from console.sim.bybit.codes import params_error
from console.sim.core import SimExchange
from console.sim.errors import SimOrderNotFoundError, SimRejectedError
from console.sim.protocol.pipeline import Request

log = logging.getLogger(__name__)

OPTIONS: Final = "OPTIONS"
DERIVATIVES: Final = "DERIVATIVES"
SPOT: Final = "SPOT"
PRODUCTS: Final = (SPOT, DERIVATIVES, OPTIONS)
"""In the order query-dcp-info lists them (Bybit's example lists SPOT, then DERIVATIVES)."""
DEFAULT_PRODUCT: Final = OPTIONS
MIN_WINDOW_S: Final = 3
MAX_WINDOW_S: Final = 300
DEFAULT_WINDOW_S: Final = 10

TOPIC_PRODUCT: Final = MappingProxyType({
    "dcp.future": DERIVATIVES, "dcp.spot": SPOT, "dcp.option": OPTIONS})
"""The private-stream topics and the product each one protects."""
PRODUCT_CATEGORIES: Final = MappingProxyType({
    DERIVATIVES: (Category.LINEAR, Category.INVERSE),
    SPOT: (Category.SPOT,),
    OPTIONS: (Category.OPTION,),
})

SESSION_KEY: Final = web.RequestKey("bybit_dcp_session", object)
"""Where the private-stream handler leaves its session on the aiohttp request."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_Key = tuple[str, str]  # (account, product)


@dataclass(frozen=True, slots=True)
class DcpTrigger:
    """One countdown that ran out: what it cancelled (venue order ids), and when."""

    account: str
    product: str
    at: int
    cancelled: tuple[str, ...]


class DcpWatch:
    """The windows, the connections subscribed per (account, product), the countdowns.

    Runs on the front-end's event loop only (handlers, sessions and timers all do)."""

    def __init__(self, exchange: SimExchange, clock: Callable[[], int], *,
                 enabled: Collection[str] | None = None) -> None:
        self.exchange = exchange
        self.clock = clock
        self.enabled: frozenset[str] | None = None if enabled is None else frozenset(enabled)
        """The accounts with DCP (None: every account)."""
        self.time_scale = 1.0
        self.triggers: list[DcpTrigger] = []
        self._windows: dict[_Key, int] = {}
        self._live: dict[_Key, set[object]] = {}
        self._countdowns: dict[_Key, asyncio.TimerHandle] = {}
        self._stopped = False

    # -- REST --------------------------------------------------------------------------

    def set_window(self, req: Request) -> Result:
        """POST /v5/order/disconnected-cancel-all."""
        product = p.text(req.params, "product") or DEFAULT_PRODUCT
        if product not in PRODUCTS:
            raise params_error(f"product {product!r} invalid ({', '.join(PRODUCTS)})")
        window = p.integer(req.params, "timeWindow")
        if window is None:
            raise params_error("timeWindow is required")
        if not MIN_WINDOW_S <= window <= MAX_WINDOW_S:
            raise params_error(f"timeWindow {window} must be in [{MIN_WINDOW_S}, "
                               f"{MAX_WINDOW_S}] seconds")
        if not self.has_dcp(req.account):
            raise params_error("DCP is not enabled for this account")
        self._windows[(req.account, product)] = window
        return Result({})

    def info(self, req: Request) -> Result:
        """GET /v5/account/query-dcp-info."""
        if not self.has_dcp(req.account):
            return Result({"dcpInfos": []})
        return Result({"dcpInfos": [
            {"product": product, "dcpStatus": "ON",
             "timeWindow": str(self.window_s(req.account, product))}
            for product in PRODUCTS]})

    def has_dcp(self, account: str) -> bool:
        return self.enabled is None or account in self.enabled

    def window_s(self, account: str, product: str) -> int:
        return self._windows.get((account, product), DEFAULT_WINDOW_S)

    # -- the private stream ------------------------------------------------------------

    def subscribed(self, session: object, account: str, topic: str) -> None:
        """`session` (of `account`) subscribed `topic`: it guards that product now, and
        a countdown of the product stops (the connection is back within the window)."""
        key = (account, TOPIC_PRODUCT[topic])
        self._live.setdefault(key, set()).add(session)
        countdown = self._countdowns.pop(key, None)
        if countdown is not None:
            countdown.cancel()

    def unsubscribed(self, session: object, account: str, topic: str) -> None:
        """Withdrawn on purpose: no countdown (see the module docstring, UNVERIFIED)."""
        key = (account, TOPIC_PRODUCT[topic])
        self._live.get(key, set()).discard(session)

    def closed(self, session: object) -> None:
        """The connection is gone: every product it guarded alone starts its countdown."""
        for key, sessions in self._live.items():
            if session not in sessions:
                continue
            sessions.discard(session)
            if not sessions and key not in self._countdowns and not self._stopped:
                self._start(key)

    def counting(self, account: str, product: str) -> bool:
        """A countdown of this product is running."""
        return (account, product) in self._countdowns

    def guarded(self, account: str, product: str) -> int:
        """How many open connections guard this product."""
        return len(self._live.get((account, product), ()))

    def _start(self, key: _Key) -> None:
        window = self.window_s(*key)
        delay = window * self.time_scale
        log.info("bybit dcp: %s %s lost its last connection; cancelling in %g s", key[0],
                 key[1], delay)
        self._countdowns[key] = asyncio.get_running_loop().call_later(delay, self._fire, key)

    def _fire(self, key: _Key) -> None:
        self._countdowns.pop(key, None)
        if self._live.get(key):
            return
        account, product = key
        cancelled: list[str] = []
        for category in PRODUCT_CATEGORIES[product]:
            if not self.exchange.open_orders(account, category):
                continue
            try:
                cancelled.extend(o.venue_order_id
                                 for o in self.exchange.cancel_all(account, category))
            except (SimRejectedError, SimOrderNotFoundError):
                log.exception("bybit dcp: cancelling %s %s failed", account, category)
        self.triggers.append(DcpTrigger(account, product, self.clock(), tuple(cancelled)))
        log.info("bybit dcp: %s %s window ran out; cancelled %d orders", account, product,
                 len(cancelled))

    # -- lifecycle ---------------------------------------------------------------------

    def watching(self, handler: Handler) -> Handler:
        """The private-stream handler, telling this watch when its connection ends."""
        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            finally:
                session = request.get(SESSION_KEY)
                if session is not None:
                    self.closed(session)
        return handle

    def stop(self) -> None:
        """The server is shutting down: its own closing of connections is no loss."""
        self._stopped = True
        for countdown in self._countdowns.values():
            countdown.cancel()
        self._countdowns.clear()

    def start(self) -> None:
        self._stopped = False
