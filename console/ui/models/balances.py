"""Balances as the ledger knows them."""

from __future__ import annotations

from PySide6.QtCore import QObject

from console.domain import Balance
from console.ui.format import fmt_decimal, fmt_local_tip, fmt_time
from console.ui.models.base import Column
from console.ui.models.zoned import ZonedModel
from console.ui.theme import ThemeState, Tone


def _total_tone(b: Balance) -> Tone | None:
    return Tone.LOSS if b.total < 0 else None


COLUMNS: tuple[Column[Balance], ...] = (
    Column("Asset", lambda b: b.asset, width=70),
    Column("Total", lambda b: fmt_decimal(b.total), sort=lambda b: b.total, numeric=True,
           tone=_total_tone, width=130),
    Column("Free", lambda b: fmt_decimal(b.free), sort=lambda b: b.free, numeric=True,
           width=130),
    Column("Locked", lambda b: fmt_decimal(b.locked), sort=lambda b: b.locked, numeric=True,
           width=110),
    Column("Updated", lambda b: fmt_time(b.updated_at), sort=lambda b: b.updated_at,
           tooltip=lambda b: fmt_local_tip(b.updated_at), width=130),
)


class BalancesModel(ZonedModel[Balance]):
    def __init__(self, theme: ThemeState | None = None, *, flush_ms: int = 150,
                 parent: QObject | None = None) -> None:
        super().__init__(COLUMNS, lambda b: b.asset, time_columns={"Updated"}, theme=theme,
                         flush_ms=flush_ms, parent=parent)
