"""Order matching and merging: how a venue order finds its ledger twin, and what the
ledger keeps when it takes the venue's view."""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import compress, repeat
from operator import is_not
from typing import cast

from console.domain.enums import OrderStatus
from console.domain.model import Fill, Order
from console.domain.reconciliation import ActionKind, Evidence, evidence
from console.domain.values import ZERO


class OrderIndex:
    """Hash maps from venue order id and client order id to positions in `orders`.

    Positions rather than objects: `map(by_vid.get, ...)` then yields ints that already
    exist (no allocation per lookup), and a position finds a twin's open order. The
    client-id maps are built on first use: when every open order is found by venue id,
    they never are. (Ledger ids are unique; were one repeated, the last order under it
    would win.)
    """

    __slots__ = ("_by_cid", "_no_vid_by_cid", "by_vid", "orders")

    def __init__(self, orders: Sequence[Order]) -> None:
        self.orders = orders
        self.by_vid: dict[str, int] = {o.venue_order_id: i for i, o in enumerate(orders)
                                       if o.venue_order_id}
        self._by_cid: dict[str, int] | None = None
        self._no_vid_by_cid: dict[str, int] | None = None

    @property
    def by_cid(self) -> dict[str, int]:
        if self._by_cid is None:
            self._by_cid = {o.client_order_id: i for i, o in enumerate(self.orders)
                            if o.client_order_id}
        return self._by_cid

    @property
    def no_vid_by_cid(self) -> dict[str, int]:
        """Client ids of the orders without a venue id (intents not yet acknowledged)."""
        if self._no_vid_by_cid is None:
            if self._by_cid is not None:
                self._no_vid_by_cid = {c: i for c, i in self._by_cid.items()
                                       if not self.orders[i].venue_order_id}
            else:
                self._no_vid_by_cid = {o.client_order_id: i for i, o in enumerate(self.orders)
                                       if not o.venue_order_id and o.client_order_id}
        return self._no_vid_by_cid

    def find(self, order: Order) -> int | None:
        """Position of the indexed twin of `order`: same venue order id, else same client
        order id. A client-id match is refused when both sides carry different venue ids:
        those are two venue orders sharing a client id (a reused label), not one order."""
        vid = order.venue_order_id
        if vid:
            hit = self.by_vid.get(vid)
            if hit is not None:
                return hit
        cid = order.client_order_id
        if not cid:
            return None
        if vid:
            # A ledger order with another venue id is another order: only intents without
            # a venue id can match (and `vid` is not in by_vid, so none has this one).
            return self.no_vid_by_cid.get(cid)
        return self.by_cid.get(cid)

    def lookup(self, venue_order_id: str, client_order_id: str) -> Order | None:
        """Find by saved ids (a bracket's), venue id first."""
        hit = self.by_vid.get(venue_order_id) if venue_order_id else None
        if hit is None and client_order_id:
            hit = self.by_cid.get(client_order_id)
        return self.orders[hit] if hit is not None else None


@dataclass(frozen=True, slots=True)
class Matching:
    """Open orders paired with ledger orders: `venues[i]` is the twin of ledger order
    `twins[i]`, found at ledger position `positions[i]`; `unknown` holds open orders
    with no twin, each once; `open_vids` is the set of open orders' venue ids."""

    positions: list[int]
    twins: list[Order]
    venues: list[Order]
    unknown: list[Order]
    open_vids: set[str]
    by_client_id: bool = False  # some pair was matched by client id
    vidless: bool = False  # some open order carries no venue id
    misses: list[Order] = field(default_factory=list)  # open orders not found by venue id


def match_open(index: OrderIndex, open_orders: Sequence[Order]) -> Matching:
    """Pair the venue's open orders with ledger orders, in one pass over hash maps.

    A venue order listed twice (two pages) counts once; so does a ledger order matched by
    two venue orders (the first wins). The common case, found by venue id, runs in C
    through map().
    """
    vids = [o.venue_order_id for o in open_orders]  # a comprehension beats attrgetter
    open_vids = set(vids)
    found: list[int | None] = list(map(index.by_vid.get, vids))
    venues = list(open_orders)
    unknown: list[Order] = []
    misses: list[Order] = []
    by_client_id = False
    if None in found:
        # The few not found by venue id: client id, else unknown (deduplicated).
        unknown_keys: set[str] = set()
        for i in [i for i, hit in enumerate(found) if hit is None]:
            v = venues[i]
            misses.append(v)
            hit = index.find(v)
            found[i] = hit
            if hit is None:
                key = v.venue_order_id or "cid:" + v.client_order_id
                if key not in unknown_keys:
                    unknown_keys.add(key)
                    unknown.append(v)
            else:
                by_client_id = True
        keep = list(map(is_not, found, repeat(None)))
        venues = list(compress(venues, keep))
        found = list(compress(found, keep))
    positions = cast("list[int]", found)
    # Two open orders can share a twin only through a repeated venue id (a page read
    # twice) or a client-id match; otherwise skip the check.
    if (by_client_id or len(open_vids) != len(vids)) and len(set(positions)) != len(positions):
        seen: set[int] = set()
        kept: list[tuple[int, Order]] = []
        for position, v in zip(positions, venues, strict=True):
            if position not in seen:
                seen.add(position)
                kept.append((position, v))
        positions = [p for p, _ in kept]
        venues = [v for _, v in kept]
    twins = list(map(index.orders.__getitem__, positions))
    vidless = "" in open_vids
    open_vids.discard("")
    return Matching(positions, twins, venues, unknown, open_vids, by_client_id, vidless,
                    misses)


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED})


def unmatched_active(orders: Sequence[Order], open_orders: Sequence[Order], *,
                     matching: Matching | None = None,
                     ledger_vids: Container[str] | None = None) -> list[Order]:
    """Ledger-active orders that no open order matches, by set membership.

    Same rules as `match_open` (venue id, else client id unless the venue ids differ),
    read from the ledger's side, so `orders_to_query` needs no per-order index. With the
    diff's `matching` and `ledger_vids` (the ledger's venue ids) the result equals
    `match_open`'s exactly; without them, an intent (no venue id) whose client id an open
    order carries while that open order's venue id belongs to another ledger record counts
    as matched (possible only with two ledger records for one venue order), so it may be
    asked about less, never wrongly.
    """
    if matching is not None:
        open_vids, vidless = matching.open_vids, matching.vidless
    else:
        open_vids = {o.venue_order_id for o in open_orders}
        vidless = "" in open_vids
        open_vids.discard("")
    # Comprehensions, not one loop: each is a tight specialised loop of its own.
    unmatched = [o for o in orders if o.venue_order_id not in open_vids]
    unmatched = [o for o in unmatched if o.status not in _TERMINAL]
    # A client-id match needs an open order without a venue id, or an intent without one.
    wanted = {o.client_order_id for o in unmatched
              if o.client_order_id and (vidless or not o.venue_order_id)}
    if not wanted:
        return unmatched
    # Open orders that could match by client id: those not found by venue id.
    sources = matching.misses if matching is not None else open_orders
    theirs: dict[str, list[str]] = {}
    for v in [v for v in sources if v.client_order_id in wanted]:
        theirs.setdefault(v.client_order_id, []).append(v.venue_order_id)
    out: list[Order] = []
    for o in unmatched:
        vids = theirs.get(o.client_order_id) if o.client_order_id else None
        if vids is None:
            out.append(o)
        elif o.venue_order_id:
            if "" not in vids:  # every open order with this client id is another order
                out.append(o)
        elif ledger_vids is not None and all(vid and vid in ledger_vids for vid in vids):
            out.append(o)  # those open orders are other ledger records' orders
    return out


def contradicted(orders: Sequence[Order], open_orders: Sequence[Order], fills: Sequence[Fill],
                 ledger_totals: Mapping[str, Decimal]) -> list[Order]:
    """Terminal ledger orders that fills contradict: the engine asks the venue about each
    by id, and the venue's answer wins (a REJECTED order the venue filled becomes FILLED).

    A fill names its order by venue id (an order without one, an intent the ledger judged
    never sent, by client id). The record is contradicted when it is REJECTED and a fill
    names it (a rejected order never fills), or when its filled quantity is below the
    quantity of the venue's fills in the window (`fills`) or of the ledger's fills of it
    (`ledger_totals`, by ident). A CANCELLED order whose partial fill matches its fills is
    consistent and not asked about, and so is an order filled to its quantity (no venue
    fills an order beyond it). Orders in the open list are compared there instead.
    An order the ledger holds without a venue id comes back with the one its fills name
    (same ident), so the venue can be asked by either id.
    One pass over the orders and one over the fills (membership tests, hash maps only).
    """
    if not fills and not ledger_totals:
        return []
    # The terminal orders that fills could contradict, usually few (the working set's
    # recent finishes): the open list and the fills are then only tested for membership,
    # and only their fills are summed. A terminal order filled to its full quantity
    # cannot be filled beyond it: only a REJECTED order or one that ended short can.
    finished = [o for o in orders if o.status in _TERMINAL
                and (o.status is OrderStatus.REJECTED or o.filled_qty < o.qty)]
    if not finished:
        return []
    keys = {o.venue_order_id or o.client_order_id for o in finished}
    listed = {k for v in open_orders
              for k in (v.venue_order_id, v.client_order_id) if k and k in keys}
    by_vid: dict[str, Order] = {}
    by_cid: dict[str, Order] = {}
    candidates: list[Order] = []
    for o in finished:
        if o.venue_order_id:
            if o.venue_order_id not in listed:
                by_vid[o.venue_order_id] = o
                candidates.append(o)
        elif o.client_order_id and o.client_order_id not in listed:
            by_cid[o.client_order_id] = o
            candidates.append(o)
    if not candidates:
        return []
    seen: dict[str, Decimal] = {}
    named_as: dict[str, str] = {}  # the venue id a fill gives an order the ledger has none for
    for f in fills:
        named = by_vid.get(f.venue_order_id) if f.venue_order_id else None
        if named is None and f.client_order_id:
            named = by_cid.get(f.client_order_id)
            if named is not None and f.venue_order_id:
                named_as[named.ident] = f.venue_order_id
        if named is not None:
            seen[named.ident] = seen.get(named.ident, ZERO) + f.qty
    out: list[Order] = []
    for o in candidates:
        most = max(seen.get(o.ident, ZERO), ledger_totals.get(o.ident, ZERO))
        if (o.status is OrderStatus.REJECTED and most > 0) or o.filled_qty < most:
            vid = named_as.get(o.ident)
            out.append(o.evolve(venue_order_id=vid) if vid else o)
    return out


# What must be equal for a pair to agree. Inlined in `disagreeing` (attribute loads in a
# Python loop are specialised by the interpreter and beat attrgetter tuples); `agrees`
# re-checks the few that differ with the looser rules (no average price without a fill,
# a venue that sends no id), so nothing real is hidden and nothing cosmetic reported.
def disagreeing(twins: Sequence[Order], venues: Sequence[Order]) -> list[int]:
    """Indexes of the pairs for which `agrees` is False."""
    out: list[int] = []
    i = -1
    for t, v in zip(twins, venues, strict=True):
        i += 1
        if (t.status is v.status and t.filled_qty == v.filled_qty and t.qty == v.qty
                and t.price == v.price and t.type is v.type and t.trigger_price == v.trigger_price
                and t.avg_price == v.avg_price and t.venue_order_id == v.venue_order_id):
            continue
        if not agrees(t, v):
            out.append(i)
    return out


def venue_key(order: Order) -> str:
    """Identity of a venue order inside one snapshot: its venue id, else its client id."""
    return order.venue_order_id or "cid:" + order.client_order_id


def seen_time(venue_updated_at: int, taken_at: int) -> int:
    """When the ledger learned a venue fact: the venue's own time, clamped to the snapshot
    (a venue clock running ahead must not make the record look newer than the snapshot)."""
    if venue_updated_at <= 0:
        return taken_at
    return min(venue_updated_at, taken_at)


def take_venue(known: Order, venue: Order, taken_at: int) -> Order:
    """The venue's facts (ids, status, fills, live terms) on top of the ledger's intent
    and ownership (client id, strategy, worker, role, origin, label, creation time)."""
    return known.evolve(
        venue_order_id=venue.venue_order_id or known.venue_order_id, type=venue.type,
        status=venue.status, filled_qty=venue.filled_qty, avg_price=venue.avg_price,
        qty=venue.qty, price=venue.price, trigger_price=venue.trigger_price,
        updated_at=max(known.updated_at, seen_time(venue.updated_at, taken_at)),
    )


def _same_avg(known: Order, venue: Order) -> bool:
    # An average price means nothing without a fill: some venues send "0", others nothing.
    if venue.filled_qty == 0 and known.filled_qty == 0:
        return True
    return known.avg_price == venue.avg_price


def status_differs(known: Order, venue: Order) -> bool:
    return known.status is not venue.status


def fills_differ(known: Order, venue: Order) -> bool:
    return known.filled_qty != venue.filled_qty or not _same_avg(known, venue)


def terms_differ(known: Order, venue: Order) -> bool:
    """Quantity, prices, or a venue id the ledger has not recorded yet."""
    return (known.qty != venue.qty or known.price != venue.price or known.type is not venue.type
            or known.trigger_price != venue.trigger_price
            or (bool(venue.venue_order_id) and known.venue_order_id != venue.venue_order_id))


def agrees(known: Order, venue: Order) -> bool:
    """True when the ledger already holds every venue fact about this order."""
    return not (status_differs(known, venue) or fills_differ(known, venue)
                or terms_differ(known, venue))


def action_for_status(status: OrderStatus) -> ActionKind:
    """The ledger action that records the venue's status."""
    if status is OrderStatus.FILLED:
        return ActionKind.MARK_FILLED
    if status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
        return ActionKind.MARK_CANCELLED
    return ActionKind.UPDATE_ORDER


def order_title(order: Order) -> str:
    """'BTCUSDT Buy 0.5 @ 60000' (or '@ trigger 59000', '@ market')."""
    if order.price is not None:
        where = str(order.price)
    elif order.trigger_price is not None:
        where = f"trigger {order.trigger_price}"
    else:
        where = "market"
    return f"{order.symbol} {order.side.value} {order.qty} @ {where}"


def order_state(order: Order) -> str:
    """'FILLED 0.5', or just 'NEW' when nothing has filled."""
    if order.filled_qty:
        return f"{order.status.value} {order.filled_qty}"
    return order.status.value


def order_evidence(order: Order, *, venue_side: bool = False) -> Evidence:
    """Facts for the inbox. The venue side shows only what the venue knows; the ledger side
    adds intent and ownership."""
    facts = evidence(
        status=order.status, filled_qty=order.filled_qty, avg_price=order.avg_price,
        qty=order.qty, price=order.price, trigger_price=order.trigger_price,
        client_order_id=order.client_order_id or None,
        venue_order_id=order.venue_order_id or None,
        reduce_only=order.reduce_only or None)
    if venue_side:
        return facts
    return facts + evidence(
        strategy_id=order.strategy_id or None, worker_id=order.worker_id or None,
        role=order.role, origin=order.origin, label=order.label or None,
        updated_at=order.updated_at or None)
