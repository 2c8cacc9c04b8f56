"""`Order`'s checks have a fast path (one expression for the well-formed orders) and
`Order.from_values` builds an order from its field values in order, for bulk reads of
stored rows. Neither may accept what the constructor's detailed checks refuse: every
malformed order is refused, by both ways of building, with the same message."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from console.domain import (
    Category,
    DomainValueError,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Origin,
    Side,
    TimeInForce,
    TriggerDirection,
)
from console.domain.model import ORDER_FIELDS

ORDER = Order("sim", "main", Category.LINEAR, "BTCUSDT", Side.BUY, OrderType.LIMIT,
              Decimal("0.5"), OrderStatus.PARTIALLY_FILLED, client_order_id="rc-w1-e-1-1",
              venue_order_id="v1", price=Decimal("60000.5"), trigger_price=Decimal("59000"),
              trigger_direction=TriggerDirection.FALL, reduce_only=True,
              time_in_force=TimeInForce.POST_ONLY, filled_qty=Decimal("0.2"),
              avg_price=Decimal("60000.25"), strategy_id="s1", worker_id="w1",
              role=OrderRole.ENTRY, origin=Origin.ADOPTED_EXTERNAL, label="lbl",
              created_at=1, updated_at=2)


def values(order: Order, **changes: object) -> tuple[object, ...]:
    return tuple(changes.get(name, getattr(order, name)) for name in ORDER_FIELDS)


def test_from_values_builds_the_same_order_as_the_constructor() -> None:
    built = Order.from_values(values(ORDER))
    assert built == ORDER and type(built) is Order
    assert [getattr(built, n) for n in ORDER_FIELDS] == [getattr(ORDER, n) for n in ORDER_FIELDS]
    market = ORDER.evolve(type=OrderType.MARKET, price=None, trigger_price=None,
                          trigger_direction=None, avg_price=None, client_order_id="")
    assert Order.from_values(values(market)) == market
    with pytest.raises(AttributeError):  # still frozen
        built.qty = Decimal(1)  # type: ignore[misc]


def test_from_values_builds_a_subclass_with_its_type() -> None:
    class Marked(Order):
        __slots__ = ()

    built = Marked.from_values(values(ORDER))
    assert type(built) is Marked and built.ident == ORDER.ident


@pytest.mark.parametrize(("changes", "message"), [
    ({"client_order_id": "", "venue_order_id": ""}, "neither client_order_id nor"),
    ({"symbol": ""}, "order.symbol: missing"),
    ({"qty": Decimal(0)}, "order.qty: 0 must be greater than zero"),
    ({"qty": Decimal("-1")}, "order.qty: -1 is negative"),
    ({"qty": Decimal("Infinity")}, "order.qty: Decimal('Infinity') is not finite"),
    ({"qty": Decimal("NaN")}, "order.qty: Decimal('NaN') is not finite"),
    ({"qty": "0.5"}, "order.qty: '0.5' is not a Decimal"),
    ({"qty": 0.5}, "order.qty: 0.5 is not a Decimal"),
    ({"filled_qty": Decimal("-0.1")}, "order.filled_qty: -0.1 is negative"),
    ({"filled_qty": Decimal("0.6")}, "filled_qty 0.6 exceeds qty 0.5"),
    ({"price": Decimal("-1")}, "order.price: -1 is negative"),
    ({"price": None}, "a limit order needs a price"),
    ({"trigger_price": Decimal("sNaN")}, "order.trigger_price"),
    ({"avg_price": "1"}, "order.avg_price: '1' is not a Decimal"),
    ({"created_at": -1}, "order.created_at: -1 is not an epoch-millisecond timestamp"),
    ({"updated_at": True}, "order.updated_at: True is not an epoch-millisecond timestamp"),
    ({"updated_at": "2"}, "order.updated_at: '2' is not an epoch-millisecond timestamp"),
    ({"status": "New"}, "order.status: 'New' is not an enum member"),
    ({"side": None}, "order.side: None is not an enum member"),
])
def test_every_malformed_order_is_refused_both_ways_with_one_message(
        changes: dict[str, object], message: str) -> None:
    with pytest.raises(DomainValueError, match=re.escape(message)) as by_constructor:
        Order(**{n: changes.get(n, getattr(ORDER, n)) for n in ORDER_FIELDS})  # type: ignore[arg-type]
    with pytest.raises(DomainValueError) as by_values:
        Order.from_values(values(ORDER, **changes))
    assert str(by_values.value) == str(by_constructor.value)


def test_from_values_refuses_a_wrong_number_of_values() -> None:
    with pytest.raises(DomainValueError, match="23 values for 24 fields"):
        Order.from_values(values(ORDER)[:-1])
