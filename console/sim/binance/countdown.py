"""USD-M's dead-man's switch: ``POST /fapi/v1/countdownCancelAll``.

Each call arms (or re-arms) a countdown for one symbol of the caller's account:
``countdownTime`` ms from now (0 disarms). The server's ticker calls `tick` often (Binance
checks "approximately every 10 milliseconds"); when a countdown runs out the sim really
cancels that symbol's open regular orders. Whether Binance also cancels algo orders is
UNVERIFIED; the sim leaves them (they live in a separate service). The answer echoes the
symbol and the countdown as strings, as the docs' example does.
"""

from __future__ import annotations

import logging
from typing import Final

from console.domain.enums import Category
from console.sim.binance import params as p
from console.sim.binance.codes import invalid
from console.sim.binance.envelope import Reply
from console.sim.binance.scope import Scope
from console.sim.errors import SimOrderNotFoundError, SimRejectedError
from console.sim.protocol.pipeline import Request

log = logging.getLogger(__name__)

LINEAR: Final = Category.LINEAR


class Countdowns:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self._deadlines: dict[tuple[str, str], int] = {}

    def arm(self, req: Request) -> Reply:
        symbol = self.scope.symbol(LINEAR, req.params)
        countdown = p.integer(req.params, "countdownTime", required=True)
        assert countdown is not None
        if countdown < 0:
            raise invalid("countdownTime")
        key = (req.account, symbol)
        if countdown == 0:
            self._deadlines.pop(key, None)
        else:
            self._deadlines[key] = req.now_ms + countdown
        return Reply({"symbol": symbol, "countdownTime": str(countdown)})

    def armed(self, account: str, symbol: str) -> int | None:
        """When the symbol's countdown runs out (epoch ms), if armed."""
        return self._deadlines.get((account, symbol))

    def tick(self, now_ms: int) -> int:
        """Fire the countdowns that ran out; returns how many orders were cancelled."""
        due = [key for key, deadline in self._deadlines.items() if deadline <= now_ms]
        cancelled = 0
        for account, symbol in due:
            del self._deadlines[(account, symbol)]
            ex = self.scope.exchange
            for order in ex.open_orders(account, LINEAR, symbol):
                if order.trigger_price is not None and not self.scope.views.triggered(order):
                    continue
                try:
                    ex.cancel_order(account, order.venue_order_id)
                    cancelled += 1
                except (SimRejectedError, SimOrderNotFoundError):
                    continue  # ended meanwhile
            log.info("countdownCancelAll fired for %s %s", account, symbol)
        return cancelled
