"""Hypothesis strategies: random but consistent ledger and venue snapshots.

Every ledger order gets a fate on the venue (listed as is, listed changed, or absent and
then answered by a by-id lookup or "not found", as the engine does for `orders_to_query`),
plus venue-only orders (ours and foreign), fills around a covered window (some naming
ledger orders, which may re-open a terminal one), positions, balances, saved brackets,
and sometimes a failed fetch.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from console.domain import (
    Balance,
    BracketState,
    Category,
    Fill,
    LedgerSnapshot,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Origin,
    Position,
    RunnerState,
    Side,
    VenueSnapshot,
)
from console.domain.ids import to_base36
from console.reconcile import ReconcileConfig, orders_to_query

RECON = settings(max_examples=200, derandomize=True, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

VENUE, ACCOUNT = "bybit", "main"
TAKEN = 1_700_000_000_000
SYMBOLS = ("BTCUSDT", "ETHUSDT")
WORKERS = ("w1", "w2")
CODES = {OrderRole.ENTRY: "e", OrderRole.STOP_LOSS: "s", OrderRole.TAKE_PROFIT: "t",
         OrderRole.OTHER: "o"}
QTYS = (Decimal("1"), Decimal("2"), Decimal("0.5"))
PRICES = (Decimal("100"), Decimal("101.5"), Decimal("99"))
ACTIVE_VENUE = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.UNTRIGGERED,
                OrderStatus.PENDING_CANCEL)
ANY_VENUE = (*ACTIVE_VENUE, OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)


@dataclass(frozen=True)
class Books:
    ledger: LedgerSnapshot
    venue: VenueSnapshot
    now: int
    config: ReconcileConfig


def our_cid(worker: str, role: OrderRole, n: int) -> str:
    return f"rc-{worker}-{CODES[role]}-{to_base36(TAKEN - 3_600_000)}-{to_base36(n)}"


@st.composite
def filled_for(draw: Any, status: OrderStatus, qty: Decimal) -> tuple[Decimal, Decimal | None]:
    """A filled quantity and average price consistent with the status."""
    if status is OrderStatus.FILLED:
        filled = qty
    elif status is OrderStatus.PARTIALLY_FILLED:
        filled = qty / 2
    elif status in (OrderStatus.CANCELLED, OrderStatus.PENDING_CANCEL, OrderStatus.UNKNOWN):
        filled = draw(st.sampled_from((Decimal(0), qty / 4)))
    else:
        filled = Decimal(0)
    avg = draw(st.sampled_from(PRICES)) if filled else None
    return filled, avg


def fill_totals(orders: list[Order], fills: tuple[Fill, ...]) -> dict[str, Decimal]:
    """What the store sums per order: a fill belongs to the order with its venue id, else
    to the order without a venue id that has its client id."""
    by_vid = {o.venue_order_id: o.ident for o in orders if o.venue_order_id}
    by_cid = {o.client_order_id: o.ident for o in orders
              if not o.venue_order_id and o.client_order_id}
    totals: dict[str, Decimal] = {}
    for f in fills:
        ident = by_vid.get(f.venue_order_id) if f.venue_order_id else None
        if ident is None and f.client_order_id:
            ident = by_cid.get(f.client_order_id)
        if ident is not None:
            totals[ident] = totals.get(ident, Decimal(0)) + f.qty
    return totals


@st.composite
def books(draw: Any) -> Books:
    counter = iter(range(1, 10_000))
    vids = iter(f"v{i}" for i in range(1, 10_000))
    now = TAKEN + draw(st.integers(0, 60_000))

    def ts() -> int:
        return TAKEN - draw(st.sampled_from((10, 5_000, 20_000, 600_000, 7_200_000)))

    # -- ledger orders and their fate on the venue ------------------------------------------
    ledger_orders: list[Order] = []
    open_orders: list[Order] = []
    queried: dict[str, Order] = {}
    not_found: set[str] = set()
    fates: list[str] = []
    for _ in range(draw(st.integers(0, 10))):
        worker = draw(st.sampled_from(WORKERS))
        role = draw(st.sampled_from(list(OrderRole)))
        ours = draw(st.booleans()) or role is not OrderRole.OTHER
        status = draw(st.sampled_from(list(OrderStatus)))
        qty = draw(st.sampled_from(QTYS))
        filled, avg = draw(filled_for(status, qty))
        has_vid = status is not OrderStatus.PENDING_NEW and draw(st.booleans())
        client_id = our_cid(worker, role, next(counter)) if ours else (
            draw(st.sampled_from(("", "manual-7"))) + "")
        if client_id == "manual-7":
            client_id = f"manual-{next(counter)}"
        vid = next(vids) if has_vid or not client_id else ""
        created = ts()
        updated = created if draw(st.integers(0, 9)) else TAKEN + 5  # sometimes newer
        known = Order(
            venue=VENUE, account=ACCOUNT, category=Category.LINEAR,
            symbol=draw(st.sampled_from(SYMBOLS)), side=draw(st.sampled_from(list(Side))),
            type=OrderType.LIMIT, qty=qty, status=status, client_order_id=client_id,
            venue_order_id=vid, price=draw(st.sampled_from(PRICES)),
            reduce_only=role.is_protection, filled_qty=filled, avg_price=avg,
            strategy_id=draw(st.sampled_from(("", "ema", "grid"))),
            worker_id=worker if draw(st.booleans()) else "", role=role,
            origin=Origin.OURS if ours else Origin.ADOPTED_EXTERNAL,
            label=draw(st.sampled_from(("", "note"))), created_at=created, updated_at=updated)
        ledger_orders.append(known)
        fate = draw(st.sampled_from(("same", "changed", "absent", "absent")))
        fates.append(fate)
        venue_id = known.venue_order_id or next(vids)
        if client_id and draw(st.integers(0, 12)) == 0:
            venue_id = ""  # a venue that sends no id: matched by client id
        base = known.evolve(venue_order_id=venue_id, strategy_id="", worker_id="",
                            role=OrderRole.OTHER, label="", origin=Origin.OURS,
                            updated_at=min(updated, TAKEN))
        if fate == "same":
            if status in (OrderStatus.PENDING_NEW, OrderStatus.UNKNOWN):
                base = base.evolve(status=OrderStatus.NEW, filled_qty=Decimal(0),
                                   avg_price=None)
            open_orders.append(base)
            if draw(st.integers(0, 9)) == 0:
                open_orders.append(base)  # a duplicated page
        elif fate == "changed":
            new_status = draw(st.sampled_from(ACTIVE_VENUE))
            new_filled, new_avg = draw(filled_for(new_status, qty))
            open_orders.append(base.evolve(status=new_status, filled_qty=new_filled,
                                           avg_price=new_avg,
                                           price=draw(st.sampled_from(PRICES))))
    # -- venue-only orders ------------------------------------------------------------------
    for _ in range(draw(st.integers(0, 3))):
        worker = draw(st.sampled_from(WORKERS))
        role = draw(st.sampled_from(list(OrderRole)))
        reused = [o.client_order_id for o in ledger_orders if o.client_order_id]
        client_id = draw(st.sampled_from((our_cid(worker, role, next(counter)),
                                          f"other-{next(counter)}", "", *reused[:2])))
        status = draw(st.sampled_from(ACTIVE_VENUE))
        qty = draw(st.sampled_from(QTYS))
        filled, avg = draw(filled_for(status, qty))
        open_orders.append(Order(
            venue=VENUE, account=ACCOUNT, category=Category.LINEAR,
            symbol=draw(st.sampled_from(SYMBOLS)), side=draw(st.sampled_from(list(Side))),
            type=OrderType.LIMIT, qty=qty, status=status, client_order_id=client_id,
            venue_order_id=next(vids), price=Decimal(100), filled_qty=filled, avg_price=avg,
            reduce_only=role.is_protection, created_at=ts(), updated_at=ts()))

    # -- fills ------------------------------------------------------------------------------
    low = TAKEN - 3_600_000

    def owner() -> tuple[str, str]:
        """Some fills name a ledger order (by venue id, or client id for an intent)."""
        if not ledger_orders or draw(st.booleans()):
            return "", ""
        finished = [o for o in ledger_orders if o.status.is_terminal]
        known = draw(st.sampled_from(finished if finished and draw(st.booleans())
                                     else ledger_orders))
        return known.venue_order_id, known.client_order_id

    pool = []
    for i in range(draw(st.integers(0, 8))):
        vid, client_id = owner()
        pool.append(Fill(venue=VENUE, account=ACCOUNT, exec_id=f"x{i}",
                         symbol=draw(st.sampled_from(SYMBOLS)),
                         side=draw(st.sampled_from(list(Side))), price=Decimal(100),
                         qty=Decimal("0.1"),
                         exec_time=draw(st.sampled_from((low - 1_000, low, low + 500,
                                                         TAKEN - 10, TAKEN))),
                         venue_order_id=vid, client_order_id=client_id))
    venue_fills = tuple(f for f in pool if draw(st.booleans()))
    ledger_fills = tuple(f for f in pool if draw(st.booleans()))
    fills_from = draw(st.sampled_from((low, low, low + 1_000)))
    totals = fill_totals(ledger_orders, ledger_fills)

    # answers for exactly the orders the engine would ask about
    asking = LedgerSnapshot(VENUE, ACCOUNT, orders=tuple(ledger_orders), fill_totals=totals)
    for known in orders_to_query(asking, open_orders, venue_fills):
        if draw(st.integers(0, 3)) == 0:
            not_found.add(known.ident)
            continue
        status = draw(st.sampled_from(ANY_VENUE))
        filled, avg = draw(filled_for(status, known.qty))
        queried[known.ident] = known.evolve(
            venue_order_id=known.venue_order_id or next(vids), strategy_id="", worker_id="",
            role=OrderRole.OTHER, label="", status=status, filled_qty=filled, avg_price=avg,
            updated_at=min(known.updated_at, TAKEN))

    # -- positions and balances -------------------------------------------------------------
    sizes = (None, Decimal(0), Decimal(1), Decimal(-1), Decimal(2))
    ledger_positions: list[Position] = []
    venue_positions: list[Position] = []
    for symbol in SYMBOLS:
        for side_list in (ledger_positions, venue_positions):
            size = draw(st.sampled_from(sizes))
            if size is not None:
                side_list.append(Position(
                    venue=VENUE, account=ACCOUNT, category=Category.LINEAR, symbol=symbol,
                    size=size, entry_price=draw(st.sampled_from(PRICES)),
                    updated_at=TAKEN - 1_000 if draw(st.integers(0, 7)) else TAKEN + 1))
    amounts = (None, Decimal(0), Decimal("10"), Decimal("10.0005"), Decimal("11"))
    ledger_balances: list[Balance] = []
    venue_balances: list[Balance] = []
    for asset in ("USDT", "BTC"):
        for side_list in (ledger_balances, venue_balances):
            total = draw(st.sampled_from(amounts))
            if total is not None:
                locked = draw(st.sampled_from((Decimal(0), Decimal(1))))
                side_list.append(Balance(VENUE, ACCOUNT, asset, total, total - locked, locked,
                                         updated_at=TAKEN - 1_000))

    # -- saved brackets ---------------------------------------------------------------------
    runners: list[RunnerState] = []
    for worker in WORKERS:
        if not draw(st.booleans()):
            continue
        mine = [o for o in ledger_orders if o.client_order_id]

        def pick(role: OrderRole, worker: str = worker, mine: list[Order] = mine) -> Order | None:
            choice = draw(st.sampled_from(("none", "ledger", "fresh")))
            if choice == "ledger" and mine:
                return draw(st.sampled_from(mine))
            if choice == "fresh":
                return Order(venue=VENUE, account=ACCOUNT, category=Category.LINEAR,
                             symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET,
                             qty=Decimal(1), status=OrderStatus.NEW,
                             client_order_id=our_cid(worker, role, next(counter)))
            return None

        entry = pick(OrderRole.ENTRY) or Order(
            venue=VENUE, account=ACCOUNT, category=Category.LINEAR, symbol="BTCUSDT",
            side=Side.BUY, type=OrderType.MARKET, qty=Decimal(1), status=OrderStatus.NEW,
            client_order_id=our_cid(worker, OrderRole.ENTRY, next(counter)))
        sl = pick(OrderRole.STOP_LOSS)
        tp = pick(OrderRole.TAKE_PROFIT)
        bracket = BracketState(
            strategy_id="ema", category=Category.LINEAR, symbol=draw(st.sampled_from(SYMBOLS)),
            side=draw(st.sampled_from(list(Side))), size=Decimal(1),
            entry_client_id=entry.client_order_id or "lost",
            entry_order_id=entry.venue_order_id,
            sl_client_id=sl.client_order_id if sl else "",
            sl_order_id=sl.venue_order_id if sl else "",
            tp_client_id=tp.client_order_id if tp else "",
            tp_order_id=tp.venue_order_id if tp else "",
            stop_price=draw(st.sampled_from((None, Decimal(90)))),
            take_profit_price=draw(st.sampled_from((None, Decimal(120)))),
            filled_size=draw(st.sampled_from((Decimal(0), Decimal(1)))),
            opened_at=TAKEN - 3_600_000)
        runners.append(RunnerState(user_id="u1", worker_id=worker, venue=VENUE,
                                   account=ACCOUNT, bracket=bracket, updated_at=TAKEN - 5))

    ledger = LedgerSnapshot(VENUE, ACCOUNT, orders=tuple(ledger_orders), fills=ledger_fills,
                            fills_from=fills_from, positions=tuple(ledger_positions),
                            balances=tuple(ledger_balances), runner_states=tuple(runners),
                            last_exec_time=max((f.exec_time for f in ledger_fills),
                                               default=None),
                            fill_totals=totals)

    def maybe(value: Any) -> Any:
        return None if draw(st.integers(0, 6)) == 0 else value

    open_field = maybe(tuple(open_orders))
    fills_field = maybe(venue_fills)
    venue = VenueSnapshot(
        VENUE, ACCOUNT, taken_at=TAKEN, open_orders=open_field,
        queried_orders=queried if open_field is not None else {},
        not_found=frozenset(not_found) if open_field is not None else frozenset(),
        fills=fills_field, fills_window=(low, TAKEN) if fills_field is not None else None,
        positions=maybe(tuple(venue_positions)), balances=maybe(tuple(venue_balances)))
    config = ReconcileConfig(
        stale_order_timeout_ms=draw(st.sampled_from((None, 60_000))),
        venue_actions_auto=draw(st.booleans()), ledger_actions_auto=True)
    return Books(ledger, venue, now, config)
