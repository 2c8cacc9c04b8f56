"""The chaos benchmark's judge: an independent reader of the venue, a reader of the ledger,
the invariants between them, and the self-check that proves the judge can fail.

The venue is read with pybit's HTTP client (a public client, not our connector), every
page of every listing: order history (all orders, terminal ones too) and open orders,
executions, positions. Statuses, quantities and prices are parsed here from Bybit's v5
shapes, with no code of `console.venues`. The ledger is read through the `Ledger` API.

Invariants (`check`), each a violation kind:

  fill_missing        a venue fill (execId) the ledger does not hold
  fill_duplicated     a venue fill the ledger holds more than once
  fill_phantom        a ledger fill the venue never made
  fill_differs        a ledger fill whose quantity, price or order is not the venue's
  order_missing       a venue order the ledger does not hold
  order_duplicated    a venue order the ledger holds under two idents
  order_status        the ledger's status is not the venue's
  order_filled_qty    the ledger's filled quantity is not the venue's
  order_avg_price     the ledger's average price is not the venue's
  fills_sum           an order's fills in the ledger do not sum to its filled quantity
  position            a position's size (or entry price) differs
  two_live            two orders of one intent (the ledger label) were live at once, now
                      or at any moment of the venue's history (their lifetimes overlap)
  cancelled_but_live  the ledger says CANCELLED or REJECTED, the venue shows the order
                      live or filled
  not_quiescent       the ledger still holds an order in flight or live that the venue
                      does not show live (or the reconcile phase never settled)

`self_check()` builds a consistent venue and ledger (the venue side from Bybit-shaped
JSON through this module's parser, the ledger side through a real SQLite ledger), checks
that the judge finds nothing, then plants each kind in turn and checks it is found.
"""

from __future__ import annotations

import itertools
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

VENUE: Final = "bybit"
ACCOUNT: Final = "main"
CATEGORY: Final = "linear"
SETTLE_COIN: Final = "USDT"

KINDS: Final = (
    "fill_missing", "fill_duplicated", "fill_phantom", "fill_differs",
    "order_missing", "order_duplicated", "order_status", "order_filled_qty",
    "order_avg_price", "fills_sum", "position", "two_live", "cancelled_but_live",
    "not_quiescent",
)

# Bybit v5 orderStatus -> the domain's status names (console.domain.OrderStatus values)
STATUS: Final = {
    "New": "NEW", "PartiallyFilled": "PARTIALLY_FILLED", "Untriggered": "UNTRIGGERED",
    "Filled": "FILLED", "Cancelled": "CANCELLED", "PartiallyFilledCanceled": "CANCELLED",
    "Deactivated": "CANCELLED", "Rejected": "REJECTED", "Triggered": "NEW",
}
LIVE: Final = frozenset({"NEW", "PARTIALLY_FILLED", "UNTRIGGERED"})
TERMINAL: Final = frozenset({"FILLED", "CANCELLED", "REJECTED"})
DEAD: Final = frozenset({"CANCELLED", "REJECTED"})


@dataclass(frozen=True, slots=True)
class VenueOrder:
    order_id: str
    link_id: str
    symbol: str
    side: str
    status: str
    qty: Decimal
    filled: Decimal
    avg_price: Decimal | None
    created: int
    updated: int


@dataclass(frozen=True, slots=True)
class VenueFill:
    exec_id: str
    order_id: str
    link_id: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    time: int


@dataclass(frozen=True, slots=True)
class VenuePosition:
    symbol: str
    size: Decimal
    """Signed: positive long, negative short."""
    entry_price: Decimal


@dataclass(frozen=True, slots=True)
class VenueView:
    orders: tuple[VenueOrder, ...]
    fills: tuple[VenueFill, ...]
    positions: tuple[VenuePosition, ...]


@dataclass(frozen=True, slots=True)
class LedgerView:
    """What the ledger holds: domain `Order`, `Fill` and `Position` objects."""

    orders: tuple[Any, ...]
    fills: tuple[Any, ...]
    positions: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Violation:
    kind: str
    ref: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "ref": self.ref, "detail": self.detail}


# -- reading the venue (pybit) ------------------------------------------------------------

def _dec(text: object) -> Decimal:
    return Decimal(str(text)) if text not in (None, "") else Decimal(0)


def _price(text: object) -> Decimal | None:
    value = _dec(text)
    return None if value == 0 else value


def parse_order(row: Mapping[str, Any]) -> VenueOrder:
    raw = str(row["orderStatus"])
    if raw not in STATUS:
        raise ValueError(f"order {row.get('orderId')}: unknown orderStatus {raw!r}")
    filled = _dec(row.get("cumExecQty"))
    return VenueOrder(
        order_id=str(row["orderId"]), link_id=str(row.get("orderLinkId") or ""),
        symbol=str(row["symbol"]), side=str(row["side"]), status=STATUS[raw],
        qty=_dec(row["qty"]), filled=filled,
        avg_price=_price(row.get("avgPrice")) if filled > 0 else None,
        created=int(row["createdTime"]), updated=int(row["updatedTime"]))


def parse_fill(row: Mapping[str, Any]) -> VenueFill:
    return VenueFill(
        exec_id=str(row["execId"]), order_id=str(row.get("orderId") or ""),
        link_id=str(row.get("orderLinkId") or ""), symbol=str(row["symbol"]),
        side=str(row["side"]), qty=_dec(row["execQty"]), price=_dec(row["execPrice"]),
        time=int(row["execTime"]))


def parse_position(row: Mapping[str, Any]) -> VenuePosition:
    size = _dec(row.get("size"))
    if row.get("side") == "Sell":
        size = -size
    return VenuePosition(symbol=str(row["symbol"]), size=size,
                         entry_price=_dec(row.get("avgPrice")))


def _pages(fetch: Callable[..., dict[str, Any]], **params: Any) -> list[dict[str, Any]]:
    """Every row of a cursor-paged v5 listing."""
    rows: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(10_000):
        answer = fetch(**params, **({"cursor": cursor} if cursor else {}))
        result = answer["result"]
        rows.extend(result["list"])
        cursor = result.get("nextPageCursor") or ""
        if not cursor:
            return rows
    raise RuntimeError("a listing did not end after 10000 pages")


def read_venue(rest_url: str, api_key: str, api_secret: str) -> VenueView:
    """The venue as pybit reads it, every page."""
    from pybit.unified_trading import HTTP

    http = HTTP(api_key=api_key, api_secret=api_secret, retry_codes={-1}, max_retries=1,
                timeout=10)
    http.endpoint = rest_url
    history = _pages(http.get_order_history, category=CATEGORY, limit=50)
    open_now = _pages(http.get_open_orders, category=CATEGORY, settleCoin=SETTLE_COIN,
                      limit=50)
    orders = {o.order_id: o for o in map(parse_order, history)}
    orders.update((o.order_id, o) for o in map(parse_order, open_now))  # the freshest word
    fills = [parse_fill(r) for r in _pages(http.get_executions, category=CATEGORY, limit=100)]
    positions = [parse_position(r) for r in _pages(
        http.get_positions, category=CATEGORY, settleCoin=SETTLE_COIN, limit=200)]
    return VenueView(tuple(orders.values()), tuple(fills),
                     tuple(p for p in positions if p.size != 0))


# -- reading the ledger ----------------------------------------------------------------------

def read_ledger(db_url: str) -> LedgerView:
    from console.store import Ledger

    with Ledger.open(db_url) as ledger:
        return LedgerView(tuple(ledger.orders(VENUE, ACCOUNT)),
                          tuple(ledger.fills(VENUE, ACCOUNT)),
                          tuple(ledger.positions(VENUE, ACCOUNT)))


# -- the invariants --------------------------------------------------------------------------

@dataclass
class _Index:
    """Ledger orders by client id and by venue id; fills by order."""

    by_cid: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    by_vid: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def of(cls, orders: Iterable[Any]) -> _Index:
        index = cls()
        for order in orders:
            if order.client_order_id:
                index.by_cid[order.client_order_id].append(order)
            if order.venue_order_id:
                index.by_vid[order.venue_order_id].append(order)
        return index

    def rows(self, venue: VenueOrder) -> list[Any]:
        found: dict[str, Any] = {}
        by_cid = self.by_cid.get(venue.link_id, []) if venue.link_id else []
        for row in [*by_cid, *self.by_vid.get(venue.order_id, [])]:
            found.setdefault(row.ident, row)
        mine = [r for r in found.values() if venue.link_id and r.client_order_id == venue.link_id]
        return mine + [r for r in found.values() if r not in mine]


def _status(order: Any) -> str:
    return str(order.status.value)


def check(venue: VenueView, ledger: LedgerView) -> list[Violation]:
    """Every invariant between what the venue shows and what the ledger holds."""
    out: list[Violation] = []
    index = _Index.of(ledger.orders)
    matched: set[str] = set()
    label_of: dict[str, str] = {}
    for v in venue.orders:
        ref = v.link_id or v.order_id
        rows = index.rows(v)
        if not rows:
            out.append(Violation("order_missing", ref, f"venue {v.status} {v.symbol} "
                                 f"{v.side} {v.filled}/{v.qty}; the ledger has no such order"))
            continue
        matched.update(r.ident for r in rows)
        if len(rows) > 1:
            out.append(Violation("order_duplicated", ref,
                                 f"held as {', '.join(r.ident for r in rows)}"))
        row = rows[0]
        if row.label:
            label_of[v.order_id] = row.label
        status = _status(row)
        if status != v.status:
            out.append(Violation("order_status", ref, f"ledger {status}, venue {v.status}"))
        if status in DEAD and (v.status in LIVE or v.status == "FILLED"):
            out.append(Violation("cancelled_but_live", ref,
                                 f"ledger {status}, venue {v.status} ({v.filled}/{v.qty})"))
        if row.filled_qty != v.filled:
            out.append(Violation("order_filled_qty", ref,
                                 f"ledger {row.filled_qty}, venue {v.filled}"))
        ledger_avg = row.avg_price if row.avg_price not in (None, 0) and v.filled > 0 else None
        if v.filled > 0 and ledger_avg != v.avg_price:
            out.append(Violation("order_avg_price", ref,
                                 f"ledger {row.avg_price}, venue {v.avg_price}"))
    out += _check_fills(venue, ledger)
    out += _check_positions(venue, ledger)
    out += _check_intents(venue, label_of)
    for row in ledger.orders:
        status = _status(row)
        if status not in TERMINAL and row.ident not in matched:
            # (one the venue knows is judged by order_status)
            out.append(Violation("not_quiescent", row.ident,
                                 f"ledger {status}; the venue has no such order"))
    return out


def _check_fills(venue: VenueView, ledger: LedgerView) -> list[Violation]:
    out: list[Violation] = []
    counts = Counter(f.exec_id for f in ledger.fills)
    held = {f.exec_id: f for f in ledger.fills}
    made = {f.exec_id: f for f in venue.fills}
    for exec_id, v in made.items():
        count = counts.get(exec_id, 0)
        if count == 0:
            out.append(Violation("fill_missing", exec_id,
                                 f"{v.side} {v.qty}@{v.price} of order {v.link_id or v.order_id}"))
            continue
        if count > 1:
            out.append(Violation("fill_duplicated", exec_id, f"held {count} times"))
        mine = held[exec_id]
        same_order = (mine.venue_order_id == v.order_id if mine.venue_order_id
                      else mine.client_order_id == v.link_id)
        if mine.qty != v.qty or mine.price != v.price or not same_order:
            out.append(Violation("fill_differs", exec_id,
                                 f"ledger {mine.qty}@{mine.price} of {mine.order_ident}, "
                                 f"venue {v.qty}@{v.price} of {v.link_id or v.order_id}"))
    for exec_id in counts:
        if exec_id not in made:
            mine = held[exec_id]
            out.append(Violation("fill_phantom", exec_id,
                                 f"ledger {mine.qty}@{mine.price} of {mine.order_ident}; "
                                 "the venue made no such fill"))
    by_vid: dict[str, Decimal] = defaultdict(Decimal)
    by_cid: dict[str, Decimal] = defaultdict(Decimal)
    for f in ledger.fills:
        if f.venue_order_id:
            by_vid[f.venue_order_id] += f.qty
        else:
            by_cid[f.client_order_id] += f.qty
    for v in venue.orders:
        total = by_vid.get(v.order_id, Decimal(0)) + (by_cid.get(v.link_id, Decimal(0))
                                                      if v.link_id else Decimal(0))
        if total != v.filled:
            out.append(Violation("fills_sum", v.link_id or v.order_id,
                                 f"ledger fills sum to {total}, the order filled {v.filled}"))
    return out


def _check_positions(venue: VenueView, ledger: LedgerView) -> list[Violation]:
    out: list[Violation] = []
    theirs = {p.symbol: p for p in venue.positions}
    ours: dict[str, Any] = {}
    for p in ledger.positions:
        if p.size != 0:
            ours[p.symbol] = p
    for symbol in sorted({*theirs, *ours}):
        v, mine = theirs.get(symbol), ours.get(symbol)
        v_size = v.size if v is not None else Decimal(0)
        l_size = mine.size if mine is not None else Decimal(0)
        if v_size != l_size:
            out.append(Violation("position", symbol, f"ledger {l_size}, venue {v_size}"))
        elif v is not None and mine is not None and mine.entry_price != v.entry_price:
            out.append(Violation("position", symbol, f"entry: ledger {mine.entry_price}, "
                                                     f"venue {v.entry_price}"))
    return out


def _check_intents(venue: VenueView, label_of: Mapping[str, str]) -> list[Violation]:
    """One intent (ledger label), one live order at a time: now, and over the venue's
    history (an order must be terminal before the next of its intent is created)."""
    out: list[Violation] = []
    by_intent: dict[str, list[VenueOrder]] = defaultdict(list)
    for v in venue.orders:
        label = label_of.get(v.order_id)
        if label:
            by_intent[label].append(v)
    for label, orders in sorted(by_intent.items()):
        live = [o for o in orders if o.status in LIVE]
        if len(live) > 1:
            out.append(Violation("two_live", label, "live now: " + ", ".join(
                o.link_id or o.order_id for o in live)))
            continue
        orders.sort(key=lambda o: (o.created, o.updated))
        for before, after in itertools.pairwise(orders):
            if before.status in LIVE or before.updated > after.created:
                out.append(Violation(
                    "two_live", label,
                    f"{after.link_id or after.order_id} created at {after.created} while "
                    f"{before.link_id or before.order_id} was live until {before.updated}"))
                break
    return out


# -- the self-check ---------------------------------------------------------------------------

T0: Final = 1_700_000_000_000


def _order_json(order_id: str, link: str, status: str, *, qty: str, filled: str,
                avg: str, at: tuple[int, int], side: str = "Buy") -> dict[str, Any]:
    created, updated = at
    return {"orderId": order_id, "orderLinkId": link, "symbol": "BTCUSDT", "side": side,
            "orderStatus": status, "qty": qty, "cumExecQty": filled, "avgPrice": avg,
            "createdTime": str(created), "updatedTime": str(updated)}


def _fill_json(exec_id: str, order_id: str, link: str, *, qty: str, price: str, at: int,
               side: str = "Buy") -> dict[str, Any]:
    return {"execId": exec_id, "orderId": order_id, "orderLinkId": link,
            "symbol": "BTCUSDT", "side": side, "execQty": qty, "execPrice": price,
            "execTime": str(at)}


def baseline() -> tuple[VenueView, LedgerView]:
    """A small, consistent venue and ledger holding every ingredient the plants need: a
    filled order with two fills, a partly filled cancelled one, a replaced intent (a
    cancelled order, then its live replacement), a live partly filled order, a REJECTED
    intent the venue never knew, and a position."""
    orders = [
        _order_json("v-a", "rc-a", "Filled", qty="0.03", filled="0.03", avg="60000.0333333",
                    at=(T0, T0 + 5)),
        _order_json("v-b", "rc-b", "Cancelled", qty="0.05", filled="0.01", avg="60010",
                    at=(T0 + 10, T0 + 20), side="Sell"),
        _order_json("v-c1", "rc-c1", "Cancelled", qty="0.02", filled="0", avg="0",
                    at=(T0 + 30, T0 + 40)),
        _order_json("v-c2", "rc-c2", "New", qty="0.02", filled="0", avg="0",
                    at=(T0 + 41, T0 + 41)),
        _order_json("v-d", "rc-d", "PartiallyFilled", qty="0.04", filled="0.02", avg="59990",
                    at=(T0 + 50, T0 + 60)),
    ]
    fills = [
        _fill_json("e-a1", "v-a", "rc-a", qty="0.02", price="60000", at=T0 + 1),
        _fill_json("e-a2", "v-a", "rc-a", qty="0.01", price="60000.1", at=T0 + 5),
        _fill_json("e-b1", "v-b", "rc-b", qty="0.01", price="60010", at=T0 + 15, side="Sell"),
        _fill_json("e-d1", "v-d", "rc-d", qty="0.02", price="59990", at=T0 + 60),
    ]
    venue = VenueView(tuple(map(parse_order, orders)), tuple(map(parse_fill, fills)),
                      (parse_position({"symbol": "BTCUSDT", "side": "Buy", "size": "0.04",
                                       "avgPrice": "59996.6666"}),))
    return venue, _ledger_of(venue)


def _ledger_of(venue: VenueView) -> LedgerView:
    """The ledger that agrees with `venue`, written to and read back from a real SQLite
    ledger (so the judge reads what the store really returns)."""
    from console.domain import (
        Category,
        Fill,
        LedgerChanges,
        Order,
        OrderRole,
        OrderStatus,
        OrderType,
        Position,
        Side,
    )

    labels = {"rc-a": "intent-1", "rc-b": "intent-2", "rc-c1": "intent-3",
              "rc-c2": "intent-3", "rc-d": "intent-4", "rc-e": "intent-5"}
    orders = [Order(
        venue=VENUE, account=ACCOUNT, category=Category.LINEAR, symbol=v.symbol,
        side=Side.BUY if v.side == "Buy" else Side.SELL, type=OrderType.LIMIT, qty=v.qty,
        status=OrderStatus(v.status), client_order_id=v.link_id, venue_order_id=v.order_id,
        price=Decimal(60000), filled_qty=v.filled, avg_price=v.avg_price,
        strategy_id="chaos", role=OrderRole.ENTRY, label=labels[v.link_id],
        created_at=v.created, updated_at=v.updated) for v in venue.orders]
    orders.append(Order(
        venue=VENUE, account=ACCOUNT, category=Category.LINEAR, symbol="BTCUSDT",
        side=Side.BUY, type=OrderType.LIMIT, qty=Decimal("0.01"),
        status=OrderStatus.REJECTED, client_order_id="rc-e", price=Decimal(60000),
        strategy_id="chaos", role=OrderRole.ENTRY, label=labels["rc-e"],
        created_at=T0 + 70, updated_at=T0 + 80))
    fills = [Fill(venue=VENUE, account=ACCOUNT, exec_id=f.exec_id, symbol=f.symbol,
                  side=Side.BUY if f.side == "Buy" else Side.SELL, price=f.price,
                  qty=f.qty, exec_time=f.time, venue_order_id=f.order_id,
                  client_order_id=f.link_id) for f in venue.fills]
    positions = [Position(venue=VENUE, account=ACCOUNT, category=Category.LINEAR,
                          symbol=p.symbol, size=p.size, entry_price=p.entry_price)
                 for p in venue.positions]
    from console.store import Ledger

    with tempfile.TemporaryDirectory(prefix="chaos-selfcheck-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'ledger.db'}"
        with Ledger.open(url) as ledger:
            ledger.apply_changes(VENUE, ACCOUNT, LedgerChanges(
                orders=tuple(orders), fills=tuple(fills), positions=tuple(positions)))
        return read_ledger(url)


def _ledger_order(ledger: LedgerView, ident: str) -> Any:
    return next(o for o in ledger.orders if o.ident == ident)


def _swap(items: tuple[Any, ...], old: Any, new: Any) -> tuple[Any, ...]:
    return tuple(new if item is old else item for item in items)


def _evolve_order(ledger: LedgerView, ident: str, **changes: Any) -> LedgerView:
    old = _ledger_order(ledger, ident)
    return replace(ledger, orders=_swap(ledger.orders, old, old.evolve(**changes)))


Plant = Callable[[VenueView, LedgerView], tuple[VenueView, LedgerView]]


def _plants() -> dict[str, Plant]:
    """One way to break each invariant, on the baseline."""
    from console.domain import OrderStatus

    def fill_missing(v: VenueView, lg: LedgerView) -> tuple[VenueView, LedgerView]:
        return v, replace(lg, fills=tuple(f for f in lg.fills if f.exec_id != "e-a2"))

    def fill_duplicated(v: VenueView, lg: LedgerView) -> tuple[VenueView, LedgerView]:
        return v, replace(lg, fills=(*lg.fills, lg.fills[0]))

    def fill_phantom(v: VenueView, lg: LedgerView) -> tuple[VenueView, LedgerView]:
        ghost = replace(lg.fills[0], exec_id="e-ghost")
        return v, replace(lg, fills=(*lg.fills, ghost))

    def fill_differs(v: VenueView, lg: LedgerView) -> tuple[VenueView, LedgerView]:
        old = next(f for f in lg.fills if f.exec_id == "e-d1")
        return v, replace(lg, fills=_swap(lg.fills, old, replace(old, price=Decimal(59991))))

    def order_missing(v: VenueView, lg: LedgerView) -> tuple[VenueView, LedgerView]:
        return v, replace(lg, orders=tuple(o for o in lg.orders if o.ident != "rc-b"))

    def order_duplicated(v: VenueView, lg: LedgerView) -> tuple[VenueView, LedgerView]:
        twin = _ledger_order(lg, "rc-d").evolve(client_order_id="")
        return v, replace(lg, orders=(*lg.orders, twin))

    def order_status(v: VenueView, lg: LedgerView) -> tuple[VenueView, LedgerView]:
        return v, _evolve_order(lg, "rc-d", status=OrderStatus.NEW)

    def order_filled_qty(v: VenueView, lg: LedgerView) -> tuple[VenueView, LedgerView]:
        return v, _evolve_order(lg, "rc-d", filled_qty=Decimal("0.01"))

    def order_avg_price(v: VenueView, lg: LedgerView) -> tuple[VenueView, LedgerView]:
        return v, _evolve_order(lg, "rc-a", avg_price=Decimal(60000))

    def fills_sum(v: VenueView, lg: LedgerView) -> tuple[VenueView, LedgerView]:
        # the venue's order says more filled than any listed fill shows, and the ledger
        # took its quantity: only the sum of the ledger's fills can tell
        old = next(o for o in v.orders if o.order_id == "v-d")
        venue = replace(v, orders=_swap(v.orders, old, replace(old, filled=Decimal("0.03"))))
        return venue, _evolve_order(lg, "rc-d", filled_qty=Decimal("0.03"))

    def position(v: VenueView, lg: LedgerView) -> tuple[VenueView, LedgerView]:
        old = lg.positions[0]
        return v, replace(lg, positions=_swap(lg.positions, old,
                                              replace(old, size=Decimal("0.05"))))

    def two_live(v: VenueView, lg: LedgerView) -> tuple[VenueView, LedgerView]:
        # the replaced order was still live when its replacement was created
        old = next(o for o in v.orders if o.order_id == "v-c1")
        return replace(v, orders=_swap(v.orders, old, replace(old, updated=T0 + 45))), lg

    def two_live_now(v: VenueView, lg: LedgerView) -> tuple[VenueView, LedgerView]:
        extra = parse_order(_order_json("v-d2", "rc-d2", "New", qty="0.02", filled="0",
                                        avg="0", at=(T0 + 90, T0 + 90)))
        row = _ledger_order(lg, "rc-d").evolve(
            client_order_id="rc-d2", venue_order_id="v-d2", status=OrderStatus.NEW,
            filled_qty=Decimal(0), avg_price=None, qty=Decimal("0.02"))
        return replace(v, orders=(*v.orders, extra)), replace(lg, orders=(*lg.orders, row))

    def cancelled_but_live(v: VenueView, lg: LedgerView) -> tuple[VenueView, LedgerView]:
        return v, _evolve_order(lg, "rc-c2", status=OrderStatus.CANCELLED)

    def not_quiescent(v: VenueView, lg: LedgerView) -> tuple[VenueView, LedgerView]:
        return v, _evolve_order(lg, "rc-e", status=OrderStatus.PENDING_NEW)

    return {"fill_missing": fill_missing, "fill_duplicated": fill_duplicated,
            "fill_phantom": fill_phantom, "fill_differs": fill_differs,
            "order_missing": order_missing, "order_duplicated": order_duplicated,
            "order_status": order_status, "order_filled_qty": order_filled_qty,
            "order_avg_price": order_avg_price, "fills_sum": fills_sum,
            "position": position, "two_live": two_live, "two_live/now": two_live_now,
            "cancelled_but_live": cancelled_but_live, "not_quiescent": not_quiescent}


def prove_on(venue: VenueView, ledger: LedgerView) -> dict[str, bool]:
    """The judge on a real schedule's data: plant what this data allows (a fill dropped,
    a phantom fill, a wrong status, a wrong filled quantity, a position off by a lot, an
    order lost, an order left in flight) and say whether each was found. Planted in a
    copy; the real verdict is `check(venue, ledger)`."""
    from console.domain import OrderStatus

    found: dict[str, bool] = {}

    def judge(kind: str, planted: LedgerView) -> None:
        found[kind] = kind in {v.kind for v in check(venue, planted)}

    index = _Index.of(ledger.orders)
    made = {f.exec_id for f in venue.fills}
    fill = next((f for f in ledger.fills if f.exec_id in made), None)
    if fill is not None:
        judge("fill_missing", replace(ledger, fills=tuple(
            f for f in ledger.fills if f is not fill)))
        judge("fill_phantom", replace(ledger, fills=(
            *ledger.fills, replace(fill, exec_id=fill.exec_id + "-planted"))))
    rows = [(v, index.rows(v)[0]) for v in venue.orders if index.rows(v)]
    if rows:
        v, row = rows[0]
        wrong = OrderStatus.NEW if v.status != "NEW" else OrderStatus.FILLED
        judge("order_status", _evolve_order(ledger, row.ident, status=wrong))
        judge("order_missing", replace(ledger, orders=tuple(
            o for o in ledger.orders if o.ident != row.ident)))
        filled = Decimal(0) if v.filled > 0 else row.qty  # not the venue's, whatever it is
        judge("order_filled_qty", _evolve_order(ledger, row.ident, filled_qty=filled))
        ghost = row.evolve(client_order_id=row.client_order_id + "p", venue_order_id="",
                           status=OrderStatus.PENDING_NEW)
        judge("not_quiescent", replace(ledger, orders=(*ledger.orders, ghost)))
    if ledger.positions:
        old = ledger.positions[0]
        judge("position", replace(ledger, positions=_swap(
            ledger.positions, old, replace(old, size=old.size + Decimal(1)))))
    return found


def self_check() -> dict[str, Any]:
    """Plant each violation kind in a consistent baseline; the judge must find each one
    (and nothing in the baseline itself)."""
    venue, ledger = baseline()
    found_in_baseline = check(venue, ledger)
    planted: dict[str, Any] = {}
    for name, plant in _plants().items():
        kind = name.split("/", 1)[0]
        kinds = sorted({v.kind for v in check(*plant(venue, ledger))})
        planted[name] = {"detected": kind in kinds, "reported": kinds}
    covered = {name.split("/", 1)[0] for name in planted}
    return {
        "baseline_clean": not found_in_baseline,
        "baseline_violations": [v.as_json() for v in found_in_baseline],
        "kinds": len(KINDS),
        "kinds_planted": sorted(covered),
        "kinds_not_planted": sorted(set(KINDS) - covered),
        "planted": planted,
        "passed": not found_in_baseline and covered == set(KINDS)
        and all(p["detected"] for p in planted.values()),
    }
