"""The strict record codec: exact round trips, and refusal of anything it would guess."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from console.domain import (
    Balance,
    BracketState,
    Category,
    DomainValueError,
    Fill,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Position,
    RunnerState,
    Side,
)
from console.domain.records import (
    balance_from_record,
    fill_from_record,
    order_from_record,
    position_from_record,
    runner_state_from_record,
    to_record,
)

ORDER = Order("sim", "main", Category.LINEAR, "BTCUSDT", Side.BUY, OrderType.LIMIT,
              Decimal("0.00000001"), OrderStatus.PARTIALLY_FILLED, client_order_id="rc-w1-e-1-1",
              venue_order_id="v1", price=Decimal("123456789.123456789"),
              filled_qty=Decimal("0.000000005"), role=OrderRole.ENTRY, created_at=1, updated_at=2)


def test_round_trips_are_exact() -> None:
    fill = Fill("sim", "main", "x1", "BTCUSDT", Side.SELL, Decimal("60000.5"), Decimal("0.001"),
                exec_time=5, fee=Decimal("-0.0001"))
    pos = Position("sim", "main", Category.LINEAR, "ETHUSDT", Decimal("-2.5"), Decimal("3000"))
    bal = Balance("sim", "main", "USDT", Decimal("100.1"), Decimal("90"), Decimal("10.1"))
    state = RunnerState("u", "w1", "sim", "main",
                        bracket=BracketState("s1", Category.LINEAR, "BTCUSDT", Side.BUY,
                                             Decimal("1"), "rc-w1-e-1-1",
                                             stop_price=Decimal("59000")),
                        total_pnl=Decimal("-12.5"), extra=(("k", "v"),))
    assert order_from_record(to_record(ORDER)) == ORDER
    assert fill_from_record(to_record(fill)) == fill
    assert position_from_record(to_record(pos)) == pos
    assert balance_from_record(to_record(bal)) == bal
    assert runner_state_from_record(to_record(state)) == state
    assert to_record(ORDER)["price"] == "123456789.123456789"


@pytest.mark.parametrize(("change", "message"), [
    ({"status": "Zombie"}, "order.status: unknown value 'Zombie'"),
    ({"qty": "-1"}, "order.qty: -1 is negative"),
    ({"qty": "lots"}, "order.qty: 'lots' is not a number"),
    ({"qty": 0.1}, "not an exact decimal"),
    ({"price": "Infinity"}, "order.price: 'Infinity' is not a finite number"),
    ({"filled_qty": "1"}, "exceeds qty"),
    ({"side": None}, "order.side"),
    ({"created_at": "yesterday"}, "order.created_at"),
    ({"reduce_only": "yes"}, "order.reduce_only"),
])
def test_malformed_records_are_refused_with_the_field_named(change: dict[str, object],
                                                            message: str) -> None:
    record = to_record(ORDER) | change
    with pytest.raises(DomainValueError, match=re.escape(message)):
        order_from_record(record)


def test_missing_required_field_is_refused() -> None:
    record = to_record(ORDER)
    del record["symbol"]
    with pytest.raises(DomainValueError, match=r"order\.symbol: missing"):
        order_from_record(record)


def test_absent_optional_fields_take_their_defaults() -> None:
    record = {k: v for k, v in to_record(ORDER).items()
              if k in {"venue", "account", "category", "symbol", "side", "type", "qty", "status",
                       "client_order_id", "price"}}
    order = order_from_record(record)
    assert order.filled_qty == 0 and order.role is OrderRole.OTHER
