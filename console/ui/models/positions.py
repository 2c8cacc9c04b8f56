"""Positions as the ledger knows them; unrealised PnL coloured by sign."""

from __future__ import annotations

from PySide6.QtCore import QObject

from console.domain import Position
from console.ui.format import fmt_decimal, fmt_local_tip, fmt_time
from console.ui.models.base import Column
from console.ui.models.zoned import ZonedModel
from console.ui.theme import ThemeState, Tone


def position_line(position: Position) -> str:
    """One position and how it is closed, for a confirmation."""
    side = "long" if position.size > 0 else "short"
    return (f"{position.symbol} {side} {fmt_decimal(abs(position.size))} @ "
            f"{fmt_decimal(position.entry_price)}: reduce-only market order to close")


def _side(p: Position) -> str:
    return "Long" if p.size > 0 else "Short" if p.size < 0 else "Flat"


def _side_tone(p: Position) -> Tone | None:
    return Tone.BUY if p.size > 0 else Tone.SELL if p.size < 0 else Tone.MUTED


def _pnl_tone(p: Position) -> Tone | None:
    pnl = p.unrealised_pnl
    if pnl is None or pnl == 0:
        return None
    return Tone.GAIN if pnl > 0 else Tone.LOSS


COLUMNS: tuple[Column[Position], ...] = (
    Column("Symbol", lambda p: p.symbol, width=90),
    Column("Category", lambda p: p.category.value, width=70),
    Column("Side", _side, tone=_side_tone, width=55),
    Column("Size", lambda p: fmt_decimal(p.size), sort=lambda p: p.size, numeric=True,
           tone=_side_tone, width=80),
    Column("Entry", lambda p: fmt_decimal(p.entry_price), sort=lambda p: p.entry_price,
           numeric=True, width=90),
    Column("Mark", lambda p: fmt_decimal(p.mark_price), sort=lambda p: p.mark_price,
           numeric=True, width=90),
    Column("Unrealised PnL", lambda p: fmt_decimal(p.unrealised_pnl, signed=True),
           sort=lambda p: p.unrealised_pnl, numeric=True, tone=_pnl_tone, width=110),
    Column("Mode", lambda p: p.position_side.value.replace("_", "-"), width=60),
    Column("Updated", lambda p: fmt_time(p.updated_at), sort=lambda p: p.updated_at,
           tooltip=lambda p: fmt_local_tip(p.updated_at), width=130),
)


class PositionsModel(ZonedModel[Position]):
    def __init__(self, theme: ThemeState | None = None, *, flush_ms: int = 150,
                 parent: QObject | None = None) -> None:
        super().__init__(COLUMNS, lambda p: p.key, time_columns={"Updated"}, theme=theme,
                         flush_ms=flush_ms, parent=parent)
