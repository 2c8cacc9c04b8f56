"""Open orders (and orders that finished recently, greyed) as the ledger knows them."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt

from console.domain import Order, OrderStatus, Side
from console.ui.format import DASH, fmt_decimal, fmt_time, fmt_utc
from console.ui.models.base import Column, Index, RecordTableModel
from console.ui.theme import ThemeState, Tone


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


def _price(order: Order) -> str:
    if order.price is None and order.trigger_price is not None:
        return f"trigger {fmt_decimal(order.trigger_price)}"
    return fmt_decimal(order.price) if order.price is not None else "market"


COLUMNS: tuple[Column[Order], ...] = (
    Column("Created", lambda o: fmt_time(o.created_at), sort=lambda o: o.created_at,
           tooltip=lambda o: fmt_utc(o.created_at), width=80),
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
    Column("Origin", lambda o: o.origin.value, width=90),
    Column("Client id", lambda o: o.client_order_id or DASH, width=210),
    Column("Venue id", lambda o: o.venue_order_id or DASH, width=150),
    Column("Updated", lambda o: fmt_time(o.updated_at), sort=lambda o: o.updated_at,
           tooltip=lambda o: fmt_utc(o.updated_at), width=80),
)


STATUS_COLUMN = next(i for i, c in enumerate(COLUMNS) if c.title == "Status")


class OrdersModel(RecordTableModel[Order]):
    """Active orders, and orders that finished recently (greyed, status still coloured)."""

    def __init__(self, theme: ThemeState | None = None, *, flush_ms: int = 150,
                 parent: QObject | None = None) -> None:
        super().__init__(COLUMNS, lambda o: o.ident, theme=theme, flush_ms=flush_ms,
                         parent=parent)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if (role == Qt.ItemDataRole.ForegroundRole and self.theme is not None
                and index.isValid() and index.column() != STATUS_COLUMN
                and 0 <= index.row() < self.rowCount()
                and not self.record(index.row()).is_active):
            return self.theme.color(Tone.MUTED)
        return super().data(index, role)


def is_finished(record: object) -> bool:
    return isinstance(record, Order) and not record.is_active
