"""The hard-desync pause: automatic pause and resume, the operator's explicit resume, and
the audit trail of each (in-process sim venue, real ledger)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal

import pytest

from console.bootstrap import SimSession, build_sim_session
from console.domain import (
    Balance,
    Category,
    LedgerChanges,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Position,
    Side,
)
from console.domain.reconciliation import RunTrigger, TradingMode
from console.engine.emergency import RESUME_PAUSE_ACTION
from console.engine.order_manager import TradingPausedError
from console.engine.session import EngineSession
from console.reconcile import ReconcileConfig

PHANTOM = Position(venue="sim", account="main", category=Category.LINEAR, symbol="LTCUSDT",
                   size=Decimal("2"), entry_price=Decimal("80"))
"""A position the ledger holds and the venue does not: a hard desync."""


def open_session(url: str, config: ReconcileConfig) -> Iterator[SimSession]:
    session = build_sim_session(url, "clean", config=config)
    asyncio.run(session.service.run_once(RunTrigger.STARTUP))
    yield session
    session.close()


@pytest.fixture
def auto_session(ledger_url: str) -> Iterator[SimSession]:
    yield from open_session(ledger_url, ReconcileConfig())


@pytest.fixture
def manual_session(ledger_url: str) -> Iterator[SimSession]:
    yield from open_session(ledger_url, ReconcileConfig(ledger_actions_auto=False))


def bid(session: SimSession) -> Order:
    return Order(venue="sim", account="main", category=Category.LINEAR, symbol="BTCUSDT",
                 side=Side.BUY, type=OrderType.LIMIT, qty=Decimal("0.01"),
                 status=OrderStatus.PENDING_NEW, price=Decimal("50000"),
                 client_order_id=session.engine.ids.next(OrderRole.ENTRY))


def mode_audit(session: SimSession) -> list[tuple[str, str]]:
    return [(e.actor, e.action) for e in reversed(session.ledger.audit_log(200))
            if e.action in ("pause_trading", RESUME_PAUSE_ACTION)]


def test_a_hard_desync_pauses_and_a_clean_run_resumes_both_audited(
        auto_session: SimSession) -> None:
    session = auto_session
    session.ledger.apply_changes("sim", "main", LedgerChanges(positions=(PHANTOM,)))
    first = asyncio.run(session.service.run_once())
    assert first.run.mode is TradingMode.PAUSED and session.engine.risk.paused
    with pytest.raises(TradingPausedError, match="position discrepancy"):
        asyncio.run(session.engine.orders.place(bid(session)))
    second = asyncio.run(session.service.run_once())  # the ledger was fixed: clean
    assert second.run.mode is TradingMode.TRADING and not session.engine.risk.paused
    assert mode_audit(session) == [("auto", "pause_trading"), ("auto", RESUME_PAUSE_ACTION)]
    assert asyncio.run(session.engine.orders.place(bid(session))).status is OrderStatus.NEW


def test_the_operator_resumes_a_pause_and_the_next_run_does_not_undo_it(
        manual_session: SimSession) -> None:
    """Ledger actions wait for approval here, so discrepancies persist: a wrong balance
    (minor) and a phantom position (hard desync). The operator removes the position by
    hand and resumes; the balance mismatch alone must not keep trading paused."""
    session = manual_session
    usdt = session.exchange.balance("main", "USDT")
    wrong = Balance(venue="sim", account="main", asset="USDT", total=usdt.total + 1,
                    free=usdt.free + 1, locked=usdt.locked)
    session.ledger.apply_changes("sim", "main", LedgerChanges(positions=(PHANTOM,),
                                                              balances=(wrong,)))
    paused = asyncio.run(session.service.run_once())
    assert paused.run.mode is TradingMode.PAUSED
    session.ledger.apply_changes("sim", "main",
                                 LedgerChanges(removed_positions=(PHANTOM.key,)))
    outcome = asyncio.run(session.engine.resume("olga"))
    assert outcome.pause_lifted and not outcome.halt_cleared
    assert "position discrepancy" in outcome.lifted_reason
    assert not session.engine.risk.paused
    assert asyncio.run(session.engine.orders.place(bid(session))).status is OrderStatus.NEW

    # a restart before the next run: the lift is rebuilt from the audit log
    restarted = EngineSession(session.venue, session.ledger, session.engine.config)
    after = asyncio.run(restarted.reconciler.run_once(RunTrigger.STARTUP))
    assert any(d.kind.value == "balance_mismatch" for d in after.run.discrepancies)
    assert after.run.mode is TradingMode.TRADING and not restarted.risk.paused
    assert mode_audit(session) == [("auto", "pause_trading"),
                                   ("operator:olga", RESUME_PAUSE_ACTION)]

    # the same in the running session: not paused again by the stored run
    again = asyncio.run(session.service.run_once())
    assert again.run.mode is TradingMode.TRADING and not session.engine.risk.paused


def test_a_new_hard_desync_after_an_operator_resume_pauses_again(
        manual_session: SimSession) -> None:
    session = manual_session
    session.ledger.apply_changes("sim", "main", LedgerChanges(positions=(PHANTOM,)))
    asyncio.run(session.service.run_once())
    asyncio.run(session.engine.resume("olga"))
    assert not session.engine.risk.paused
    rerun = asyncio.run(session.service.run_once())  # the phantom is still there
    assert rerun.run.mode is TradingMode.PAUSED and session.engine.risk.paused
    assert mode_audit(session) == [("auto", "pause_trading"),
                                   ("operator:olga", RESUME_PAUSE_ACTION),
                                   ("auto", "pause_trading")]


def test_resume_with_nothing_to_resume_changes_nothing(auto_session: SimSession) -> None:
    outcome = asyncio.run(auto_session.engine.resume("olga"))
    assert not outcome.changed
    assert mode_audit(auto_session) == []
