"""Quarantine per (account, instrument): while one of our orders on an instrument has an
unknown outcome, new risk on that instrument is refused (reduce-only passes, other
instruments trade on) until the venue's word on the order is recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import pytest

from console.bootstrap import SimSession, build_sim_session
from console.domain import Category, Order, OrderRole, OrderStatus, OrderType, Side
from console.domain.reconciliation import RunTrigger
from console.engine.order_manager import InstrumentQuarantinedError, OrderOutcomeUnknownError
from console.errors import TransientVenueError, UnknownOutcomeError


@pytest.fixture
def session(ledger_url: str) -> Iterator[SimSession]:
    s = build_sim_session(ledger_url, "clean")
    asyncio.run(s.service.run_once(RunTrigger.STARTUP))
    s.engine.orders.resolve_delay_s = 0
    yield s
    s.close()


def order(session: SimSession, symbol: str = "BTCUSDT", **kw: object) -> Order:
    base = Order(venue="sim", account="main", category=Category.LINEAR, symbol=symbol,
                 side=Side.BUY, type=OrderType.LIMIT, qty=Decimal("0.01"),
                 status=OrderStatus.PENDING_NEW,
                 client_order_id=session.engine.ids.next(OrderRole.ENTRY),
                 price=Decimal("50000") if symbol == "BTCUSDT" else Decimal("2000"),
                 strategy_id="s1", worker_id="w1", role=OrderRole.ENTRY)
    return base.evolve(**kw)


def _unknown_outcome(session: SimSession) -> Order:
    """A create whose answer is lost and that the venue cannot be asked about yet."""
    lost = order(session)
    session.venue.lose_response_next("place_order")
    for _ in range(3):
        session.venue.fail_next("fetch_order", TransientVenueError("timeout"))
    with pytest.raises(OrderOutcomeUnknownError):
        asyncio.run(session.engine.orders.place(lost))
    return lost


def test_an_unknown_outcome_quarantines_its_instrument_only(session: SimSession) -> None:
    lost = _unknown_outcome(session)
    risk = session.engine.risk
    assert risk.quarantine == {"linear:BTCUSDT": {lost.ident: risk.quarantine[
        "linear:BTCUSDT"][lost.ident]}}
    orders = session.engine.orders
    with pytest.raises(InstrumentQuarantinedError, match=r"linear:BTCUSDT is quarantined"):
        asyncio.run(orders.place(order(session)))
    # reduce-only passes the quarantine (the sim may refuse it for want of a position:
    # what matters is that the engine sends it)
    calls = session.venue.calls["place_order"]
    reduce = order(session, side=Side.SELL, reduce_only=True)
    try:
        asyncio.run(orders.place(reduce))
    except InstrumentQuarantinedError:
        pytest.fail("a reduce-only order was refused by the quarantine")
    except Exception:  # noqa: BLE001 - the venue's own refusal is not under test
        pass
    assert session.venue.calls["place_order"] == calls + 1
    # another instrument trades on
    other = asyncio.run(orders.place(order(session, symbol="ETHUSDT")))
    assert other.status is OrderStatus.NEW


def test_the_venues_word_through_a_reconciliation_releases_it(session: SimSession) -> None:
    lost = _unknown_outcome(session)
    assert session.engine.risk.quarantine
    asyncio.run(session.service.run_once())  # the venue shows the order live: NEW
    assert session.ledger.get_order("sim", "main", lost.ident).status is OrderStatus.NEW
    assert session.engine.risk.quarantine == {}
    asyncio.run(session.service.run_once())  # clean: lifts that run's desync pause
    placed = asyncio.run(session.engine.orders.place(order(session)))
    assert placed.status is OrderStatus.NEW


def test_an_order_the_venue_never_saw_releases_it_once_rejected(session: SimSession) -> None:
    never = order(session)
    session.engine.orders.pending_grace_ms = 10**9
    session.venue.fail_next("place_order", UnknownOutcomeError("timeout", venue="sim"))
    with pytest.raises(OrderOutcomeUnknownError, match="does not know the order yet"):
        asyncio.run(session.engine.orders.place(never))
    assert "linear:BTCUSDT" in session.engine.risk.quarantine
    session.service.config = replace(session.service.config, pending_grace_ms=0)
    asyncio.run(session.service.run_once())
    assert session.ledger.get_order("sim", "main", never.ident).status is OrderStatus.REJECTED
    assert session.engine.risk.quarantine == {}
