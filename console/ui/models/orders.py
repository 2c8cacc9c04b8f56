"""Orders: the ledger's open orders, the ones that finished recently (greyed), and the
venue's live orders the ledger does not hold (marked "not in ledger"), newest first.

Why the venue's own list is shown too: after a crash, our orders can rest on the venue
while the ledger knows nothing of them. The reconciliation finds them and proposes what
to do in the inbox, but a table fed by the ledger alone showed "0 rows" over money at
work. So the rows are the ledger's orders plus `VenueOnlyOrder` rows for what the
ledger does not know: the venue's open orders the last reconciliation found unknown (as
the venue listed them), and orders the private stream reported since that the ledger
does not hold (`VenueOrders`). Such a row stops being one as soon as the ledger records
the order (adopted, or cancelled from the console).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

from PySide6.QtCore import QObject, Qt

from console.domain import Order, OrderStatus, Side
from console.domain.reconciliation import DiscrepancyKind
from console.engine.reconcile_service import RunOutcome
from console.ui.format import DASH, fmt_decimal, fmt_local_tip, fmt_time
from console.ui.models.base import Column, Index
from console.ui.models.zoned import ZonedModel
from console.ui.theme import ThemeState, Tone

NOT_IN_LEDGER = "not in ledger"
"""What the Origin column says of a venue order the ledger does not hold."""
UNKNOWN_KINDS = frozenset({DiscrepancyKind.UNKNOWN_OURS, DiscrepancyKind.ORDER_UNKNOWN_LOCALLY})
"""The findings that name a venue order the ledger does not hold (their subject is the
order's ident)."""


@dataclass(frozen=True, slots=True)
class VenueOnlyOrder(Order):
    """An order as the venue reports it that the ledger does not hold. The type is the
    mark (no field is added): it survives `evolve` and the stream's updates, and goes
    when the ledger's own record of the order replaces it."""

    @classmethod
    def of(cls, order: Order) -> VenueOnlyOrder:
        return order if isinstance(order, VenueOnlyOrder) else cls(
            **{f.name: getattr(order, f.name) for f in fields(Order)})


def plain(order: Order) -> Order:
    """The order as the engine should see it: a plain `Order`, without the window's marks
    (not in ledger, the account a row of every account's table belongs to)."""
    if type(order) is Order:
        return order
    return Order(**{f.name: getattr(order, f.name) for f in fields(Order)})


def in_ledger(order: Order) -> bool:
    return not isinstance(order, VenueOnlyOrder)


def side_tone(side: Side) -> Tone:
    return Tone.BUY if side is Side.BUY else Tone.SELL


def status_tone(order: Order) -> Tone | None:
    status = order.status
    if status is OrderStatus.FILLED:
        return Tone.OK
    if status is OrderStatus.CANCELLED:
        return Tone.MUTED
    if status in (OrderStatus.REJECTED, OrderStatus.UNKNOWN):
        return Tone.CRITICAL
    if status in (OrderStatus.PENDING_NEW, OrderStatus.PENDING_CANCEL):
        return Tone.INFO
    return None


def origin_text(order: Order) -> str:
    return NOT_IN_LEDGER if isinstance(order, VenueOnlyOrder) else order.origin.value


def _origin_tone(order: Order) -> Tone | None:
    return Tone.WARNING if isinstance(order, VenueOnlyOrder) else None


def _origin_tip(order: Order) -> str:
    if isinstance(order, VenueOnlyOrder):
        return ("The venue lists this order and the ledger does not hold it: the inbox "
                "proposes what to do with it (adopt or cancel).")
    return ""


def _price(order: Order) -> str:
    if order.price is None and order.trigger_price is not None:
        return f"trigger {fmt_decimal(order.trigger_price)}"
    return fmt_decimal(order.price) if order.price is not None else "market"


def order_line(order: Order) -> str:
    """One order in a confirmation or a message: symbol, side, what remains, price,
    status and id ("BTCUSDT Buy 0.01 @ 59000 (New, rc-w1-e-...)")."""
    price = fmt_decimal(order.price) if order.price is not None else (
        f"trigger {fmt_decimal(order.trigger_price)}" if order.trigger_price else "market")
    ident = order.client_order_id or order.venue_order_id
    return (f"{order.symbol} {order.side.value} {fmt_decimal(order.remaining_qty)} @ {price} "
            f"({order.status.value}, {ident})")


COLUMNS: tuple[Column[Order], ...] = (
    Column("Created", lambda o: fmt_time(o.created_at), sort=lambda o: o.created_at,
           tooltip=lambda o: fmt_local_tip(o.created_at), width=130),
    Column("Symbol", lambda o: o.symbol, width=90),
    Column("Side", lambda o: o.side.value, tone=lambda o: side_tone(o.side), width=50),
    Column("Type", lambda o: o.type.value + (" RO" if o.reduce_only else ""), width=80),
    Column("Price", _price, sort=lambda o: o.price if o.price is not None else o.trigger_price,
           numeric=True, width=95),
    Column("Qty", lambda o: fmt_decimal(o.qty), sort=lambda o: o.qty, numeric=True, width=70),
    Column("Filled", lambda o: fmt_decimal(o.filled_qty), sort=lambda o: o.filled_qty,
           numeric=True, width=70),
    Column("Avg price", lambda o: fmt_decimal(o.avg_price), sort=lambda o: o.avg_price,
           numeric=True, width=90),
    Column("Status", lambda o: o.status.value, tone=status_tone, width=120),
    Column("Role", lambda o: o.role.value, width=55),
    Column("Strategy", lambda o: o.strategy_id or DASH, width=90),
    Column("Origin", origin_text, tone=_origin_tone, tooltip=_origin_tip, width=110),
    Column("Client id", lambda o: o.client_order_id or DASH, width=210),
    Column("Venue id", lambda o: o.venue_order_id or DASH, width=150),
    Column("Updated", lambda o: fmt_time(o.updated_at), sort=lambda o: o.updated_at,
           tooltip=lambda o: fmt_local_tip(o.updated_at), width=130),
)
TIME_COLUMNS = frozenset({"Created", "Updated"})

STATUS_COLUMN = next(i for i, c in enumerate(COLUMNS) if c.title == "Status")
ORIGIN_COLUMN = next(i for i, c in enumerate(COLUMNS) if c.title == "Origin")
NEWEST_FIRST = (0, Qt.SortOrder.DescendingOrder)
"""The window's default order: by Created, newest first."""


class OrdersModel(ZonedModel[Order]):
    """Active orders, orders that finished recently (greyed, status still coloured) and
    the venue's orders the ledger does not hold. The window sorts it newest first
    (`NEWEST_FIRST`) until the operator sorts otherwise."""

    def __init__(self, theme: ThemeState | None = None, *, flush_ms: int = 150,
                 parent: QObject | None = None) -> None:
        super().__init__(COLUMNS, lambda o: o.ident, time_columns=TIME_COLUMNS, theme=theme,
                         flush_ms=flush_ms, parent=parent)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if (role == Qt.ItemDataRole.ForegroundRole and self.theme is not None
                and index.isValid() and index.column() not in (STATUS_COLUMN, ORIGIN_COLUMN)
                and 0 <= index.row() < self.rowCount()
                and not self.record(index.row()).is_active):
            return self.theme.color(Tone.MUTED)
        return super().data(index, role)

    def venue_only(self) -> list[Order]:
        return [o for o in self.records() if isinstance(o, VenueOnlyOrder)]


def is_finished(record: object) -> bool:
    return isinstance(record, Order) and not record.is_active


class VenueOrders:
    """The venue's orders the ledger may not hold: those the last reconciliation found
    unknown, then the private stream's events for orders new to the window. The window
    lists those the ledger still does not hold (`unlisted`)."""

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}

    def from_run(self, outcome: RunOutcome) -> None:
        """A reconciliation's findings: the venue's open orders it found unknown to the
        ledger (the discrepancies name them), as the venue listed them. Only those are
        kept (a venue may list a hundred thousand orders the ledger holds); when the list
        could not be read, what was known stays."""
        listed = outcome.venue_open_orders
        if listed is None:
            return
        unknown = {d.subject for d in outcome.run.discrepancies if d.kind in UNKNOWN_KINDS}
        self._orders = {o.ident: o for o in listed if o.ident in unknown}

    def see(self, order: Order) -> None:
        """A private-stream event for an order: newer news of it replaces older."""
        known = self._orders.get(order.ident)
        if known is None or order.updated_at >= known.updated_at:
            self._orders[order.ident] = order

    def unlisted(self, known: Iterable[Order]) -> list[VenueOnlyOrder]:
        """The venue's orders that none of `known` (the ledger's records of the
        candidates, by client id or venue id) is; those the ledger holds are forgotten
        here, the ledger speaks for them from now on."""
        idents = set()
        venue_ids = set()
        for order in known:
            idents.add(order.ident)
            if order.client_order_id:
                idents.add(order.client_order_id)
            if order.venue_order_id:
                venue_ids.add(order.venue_order_id)
        out: list[VenueOnlyOrder] = []
        for ident, order in list(self._orders.items()):
            if (ident in idents or (order.client_order_id and order.client_order_id in idents)
                    or (order.venue_order_id and order.venue_order_id in venue_ids)):
                del self._orders[ident]
                continue
            out.append(VenueOnlyOrder.of(order))
        return out

    def lookup_keys(self) -> tuple[list[str], list[str]]:
        """(venue ids, client ids) of the candidates, for `LedgerPort.find_orders`."""
        orders = self._orders.values()
        return ([o.venue_order_id for o in orders if o.venue_order_id],
                [o.client_order_id for o in orders if o.client_order_id])
