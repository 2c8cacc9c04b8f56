"""The ledger reads its orders table at bulk speed (`codec.orders_from_rows`, a dict
lookup per enum, `Order.from_values`) and still never hands out garbage: every column
round-trips on SQLite and PostgreSQL, and a row changed by hand into something that is
not an order raises `LedgerError` naming the order, from every read of orders."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
import sqlalchemy as sa

from console.domain import Order, OrderStatus, OrderType
from console.errors import LedgerError
from console.store import codec, tables

V, A = "bybit", "main"


def test_every_column_round_trips_through_each_read(ledger, build) -> None:
    full = build.order("full", updated_at=2_000)
    bare = build.order("bare", updated_at=1_000, type=OrderType.MARKET, price=None,
                       trigger_price=None, trigger_direction=None, avg_price=None,
                       reduce_only=False, filled_qty=Decimal(0), strategy_id="",
                       worker_id="", label="")
    ledger.upsert_orders([full, bare])

    assert ledger.orders_page(V, A, True, limit=10) == [full, bare]
    assert ledger.get_order(V, A, "full") == full
    assert ledger.find_orders(V, A, ["v-bare"], []) == [bare]
    page = ledger.orders_page(V, A, True, limit=10)
    assert [type(o) for o in page] == [Order, Order]
    # the repeated texts are one object each across reads (`codec._shared`)
    again = ledger.orders_page(V, A, True, limit=10)
    assert again[0].symbol is page[0].symbol and again[0].strategy_id is page[0].strategy_id


def test_an_action_payload_with_money_as_text_still_decodes(build) -> None:
    order = build.order("payload")
    payload = codec.jsonable(codec.order_to_row(order))
    assert isinstance(payload["qty"], str)
    assert codec.order_from_row(payload) == order


Corrupt = Callable[[sa.Connection], None]


def _set(**values: object) -> Corrupt:
    def run(conn: sa.Connection) -> None:
        o = tables.orders
        conn.execute(sa.update(o).where(o.c.ident == "bad").values(**values))
    return run


@pytest.mark.parametrize(("corrupt", "fault"), [
    (_set(status="Zombie"), "'Zombie'"),
    (_set(side="Sideways"), "'Sideways'"),
    (_set(trigger_direction="Sideways"), "'Sideways'"),
    (_set(symbol=""), "order.symbol: missing"),
    (_set(created_at=-5), "order.created_at: -5"),
    (_set(filled_qty=Decimal("1")), "filled_qty 1 exceeds qty 0.010"),
    (_set(price=None), "a limit order needs a price"),
])
def test_a_corrupt_row_raises_a_ledger_error_naming_the_order(
        ledger, build, corrupt: Corrupt, fault: str) -> None:
    ledger.upsert_orders([build.order("good", updated_at=1_000),
                          build.order("bad", updated_at=2_000)])
    with ledger.engine.begin() as conn:
        corrupt(conn)
    reads: list[Callable[[], object]] = [
        lambda: ledger.orders_page(V, A, False, limit=10),
        lambda: ledger.get_order(V, A, "bad"),
        lambda: ledger.find_orders(V, A, ["v-bad"], []),
        lambda: ledger.orders(V, A),
    ]
    for read in reads:
        with pytest.raises(LedgerError) as caught:
            read()
        assert "'bad'" in str(caught.value) and fault in str(caught.value)
    assert ledger.get_order(V, A, "good") == build.order("good", updated_at=1_000)


def test_money_that_is_not_a_number_is_a_ledger_error(ledger, build) -> None:
    ledger.upsert_orders([build.order("bad", status=OrderStatus.NEW)])
    with ledger.engine.begin() as conn:  # below the Money type: the text as stored
        conn.execute(sa.text("UPDATE orders SET qty = 'lots' WHERE ident = 'bad'"))
    with pytest.raises(LedgerError, match="money value that is not a number"):
        ledger.orders_page(V, A, True, limit=10)
