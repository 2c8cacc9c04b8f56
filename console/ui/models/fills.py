"""Executions (fills) from the ledger, newest kept; fees signed (rebates are negative)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt

from console.domain import Fill
from console.ui.format import DASH, fmt_decimal, fmt_local_tip, fmt_ms
from console.ui.models.base import Column
from console.ui.models.orders import side_tone
from console.ui.models.zoned import ZonedModel
from console.ui.theme import ThemeState

COLUMNS: tuple[Column[Fill], ...] = (
    Column("Time", lambda f: fmt_ms(f.exec_time), sort=lambda f: f.exec_time,
           tooltip=lambda f: fmt_local_tip(f.exec_time), width=190),
    Column("Symbol", lambda f: f.symbol, width=90),
    Column("Side", lambda f: f.side.value, tone=lambda f: side_tone(f.side), width=50),
    Column("Price", lambda f: fmt_decimal(f.price), sort=lambda f: f.price, numeric=True,
           width=90),
    Column("Qty", lambda f: fmt_decimal(f.qty), sort=lambda f: f.qty, numeric=True, width=70),
    Column("Fee", lambda f: fmt_decimal(f.fee), sort=lambda f: f.fee, numeric=True, width=90),
    Column("Fee asset", lambda f: f.fee_asset or DASH, width=70),
    Column("Liquidity", lambda f: "maker" if f.is_maker else "taker", width=65),
    Column("Type", lambda f: f.exec_type.value, width=70),
    Column("Order", lambda f: f.client_order_id or f.venue_order_id or DASH, width=210),
    Column("Exec id", lambda f: f.exec_id, width=250),
)


NEWEST_FIRST = (0, Qt.SortOrder.DescendingOrder)
"""The window's default order: by Time, newest first."""


class FillsModel(ZonedModel[Fill]):
    def __init__(self, theme: ThemeState | None = None, *, flush_ms: int = 150,
                 parent: QObject | None = None) -> None:
        super().__init__(COLUMNS, lambda f: f.exec_id, time_columns={"Time"}, theme=theme,
                         flush_ms=flush_ms, parent=parent)
