"""Binance's int64 ids over the sim's uuid-shaped ids, and what the sim does not record.

Binance numbers orders, trades and algo orders with integers; the sim names them with
uuid-shaped strings. `Ids` gives each sim id a number on first sight (1, 2, 3... per
kind, so the same traffic always yields the same numbers) and maps it back. The REST
front-end notes every order event of a keyed account as it happens, so order numbers
follow creation order (Binance's ``orderId`` "is self-increment").

A conditional USD-M order is an algo order (``algoId``) while it waits; once triggered it
is a regular order with its own ``orderId`` (`actual_order_id`), numbered when the
trigger is first seen. Both are the same sim order; its client order id is the
``clientAlgoId`` (the sim's choice, UNVERIFIED on Binance: the plan's decision).

Beyond numbers it remembers, per sim order, what the sim's records do not carry and both
the REST answers and the stream need: whether a conditional order triggered, and the
hedge-mode ``positionSide`` ("BOTH", "LONG", "SHORT") the order was placed for.
"""

from __future__ import annotations

from typing import Final

from console.domain.enums import OrderStatus
from console.domain.model import Order

_LIVE: Final = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED})


class _Numbers:
    """sim id <-> 1, 2, 3... in order of first sight."""

    def __init__(self) -> None:
        self._by_sim: dict[str, int] = {}
        self._by_number: dict[int, str] = {}

    def number(self, sim_id: str) -> int:
        found = self._by_sim.get(sim_id)
        if found is None:
            found = len(self._by_sim) + 1
            self._by_sim[sim_id] = found
            self._by_number[found] = sim_id
        return found

    def known(self, sim_id: str) -> int | None:
        return self._by_sim.get(sim_id)

    def sim(self, number: int) -> str | None:
        return self._by_number.get(number)


class Ids:
    """Shared by the REST front-end and the stream; runs on the server's loop."""

    def __init__(self) -> None:
        self._orders = _Numbers()
        self._trades = _Numbers()
        self._algos = _Numbers()
        self._triggered: dict[str, int] = {}
        self._position_sides: dict[str, str] = {}

    # -- the fixed interface -------------------------------------------------------------

    def order_id(self, sim_id: str) -> int:
        return self._orders.number(sim_id)

    def sim_order(self, order_id: int) -> str | None:
        return self._orders.sim(order_id)

    def trade_id(self, exec_id: str) -> int:
        return self._trades.number(exec_id)

    def algo_id(self, sim_id: str) -> int:
        return self._algos.number(sim_id)

    def sim_algo(self, algo_id: int) -> str | None:
        return self._algos.sim(algo_id)

    def actual_order_id(self, sim_id: str) -> int:
        """The regular order a triggered algo order became (the same sim order, numbered
        among the regular orders)."""
        return self._orders.number(sim_id)

    # -- extensions ----------------------------------------------------------------------

    def known_order_id(self, sim_id: str) -> int | None:
        """The number if one was given, without giving one."""
        return self._orders.known(sim_id)

    def note(self, order: Order) -> None:
        """Every order event: number it (regular orders at once, conditional ones as algo
        orders, and among the regular orders once triggered)."""
        sim_id = order.venue_order_id
        if order.trigger_price is None:
            self.order_id(sim_id)
            return
        self.algo_id(sim_id)
        if order.status in _LIVE and sim_id not in self._triggered:
            self._triggered[sim_id] = order.updated_at
            self.actual_order_id(sim_id)

    def mark_triggered(self, sim_id: str, at: int) -> None:
        self._triggered.setdefault(sim_id, at)

    def was_triggered(self, sim_id: str) -> bool:
        return sim_id in self._triggered

    def trigger_time(self, sim_id: str) -> int | None:
        """When the trigger was first seen (epoch ms); None if it was not."""
        return self._triggered.get(sim_id)

    def set_position_side(self, sim_id: str, position_side: str) -> None:
        self._position_sides[sim_id] = position_side

    def position_side(self, sim_id: str) -> str | None:
        """"BOTH", "LONG" or "SHORT" as placed; None for orders the REST API did not place."""
        return self._position_sides.get(sim_id)
