"""The demo's chaos port can produce an inbox item: an order of ours left on the exchange
by a lost session (events lost), which the next reconciliation finds unknown to the
ledger and proposes to cancel, awaiting an operator's approval."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.bootstrap import SIM_ACCOUNT, SimSession, build_sim_session
from console.domain.ids import has_our_prefix, parse_client_id
from console.domain.reconciliation import (
    ActionKind,
    ActionState,
    Decision,
    DiscrepancyKind,
    RunTrigger,
)
from console.domain.telemetry import Telemetry
from console.engine.demo import ChaosPort
from console.engine.metrics import Metrics
from console.errors import UserFacingError
from console.reconcile import ReconcileConfig
from console.sim import SimVenue
from console.sim.chaos import LOST_WORKER, ChaosVenue, SimChaos


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[SimSession, ChaosPort]]:
    """The demo's wiring (as `console.bootstrap_gui` does it): the chaos venue around the
    sim, reference prices, the default policy (venue actions need approval)."""
    metrics: Telemetry = Metrics()

    def wrap(inner: SimVenue) -> ChaosVenue:
        return ChaosVenue(inner, metrics)

    session = build_sim_session(f"sqlite:///{tmp_path / 'demo.db'}", "clean", wrap=wrap,
                                metrics=Metrics(), reference_prices=True)
    venue = session.engine.venue
    assert isinstance(venue, ChaosVenue)
    chaos: ChaosPort = SimChaos(session.exchange, SIM_ACCOUNT, venue)
    yield session, chaos
    session.close()


def test_a_lost_order_becomes_an_inbox_item_at_the_next_reconciliation(
        demo: tuple[SimSession, ChaosPort]) -> None:
    session, chaos = demo
    first = asyncio.run(session.service.run_once(RunTrigger.STARTUP)).run
    assert first.discrepancies == ()
    assert session.ledger.pending_actions("sim", SIM_ACCOUNT) == []

    said = chaos.place_lost_order()
    assert "for your approval" in said
    [lost] = [o for o in session.exchange.open_orders(SIM_ACCOUNT)
              if f"-{LOST_WORKER}-" in o.client_order_id]
    parsed = parse_client_id(lost.client_order_id)
    assert parsed is not None and parsed.worker == LOST_WORKER
    assert has_our_prefix(lost.client_order_id, ReconcileConfig().our_prefix)
    assert lost.symbol == "BTCUSDT" and lost.client_order_id in said

    run = asyncio.run(session.service.run_once(RunTrigger.MANUAL)).run
    # its margin moved too (the balance is fixed in the ledger by itself)
    assert {d.kind for d in run.discrepancies} <= {DiscrepancyKind.UNKNOWN_OURS,
                                                   DiscrepancyKind.BALANCE_MISMATCH}
    assert [d.subject for d in run.discrepancies
            if d.kind is DiscrepancyKind.UNKNOWN_OURS] == [lost.client_order_id]
    inbox = session.ledger.pending_actions("sim", SIM_ACCOUNT)
    assert [(p.action.kind, p.decision, p.state, p.action.subject)
            for _, _, p in inbox] == [(ActionKind.CANCEL_ORDER, Decision.NEEDS_APPROVAL,
                                       ActionState.PENDING, lost.client_order_id)]


def test_each_lost_order_is_new_and_a_symbol_can_be_chosen(
        demo: tuple[SimSession, ChaosPort]) -> None:
    session, chaos = demo
    chaos.place_lost_order()
    chaos.place_lost_order("ETHUSDT")
    ours = [o for o in session.exchange.open_orders(SIM_ACCOUNT)
            if f"-{LOST_WORKER}-" in o.client_order_id]
    assert len({o.client_order_id for o in ours}) == 2
    assert {o.symbol for o in ours} == {"BTCUSDT", "ETHUSDT"}
    with pytest.raises(UserFacingError, match="NOPEUSDT"):
        chaos.place_lost_order("NOPEUSDT")
