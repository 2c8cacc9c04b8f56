"""The account summary dock: per account, equity, available margin, unrealised PnL and
realised PnL (this session and today, UTC); below, the exposure per symbol netted across
every open account. The figures are `console.ui.summary_figures`'s (Decimal); this panel
reads what they need (the tables' balances and positions, the ledger's fills in a worker
thread), then formats.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.domain import Balance, Fill, Position
from console.ui.controller import ConsoleController
from console.ui.format import fmt_decimal, fmt_ms
from console.ui.summary_figures import (
    UNKNOWN_UNIT,
    AccountFigures,
    Amounts,
    Baseline,
    Exposure,
    account_figures,
    exposures,
    utc_midnight_ms,
)
from console.ui.theme import ThemeState, Tone
from console.ui.widgets.table import configure_view
from console.ui.workspace import Workspace

log = logging.getLogger(__name__)

REFRESH_MS = 5000
ACCOUNT_HEADERS = ("Account", "Equity", "Available margin", "Unrealised PnL",
                   "Realised PnL (session)", "Realised PnL (today, UTC)")
EXPOSURE_HEADERS = ("Symbol", "Category", "Net size", "Net notional", "Gross notional",
                    "Accounts")


NOT_PUBLISHED = "not published"
"""A figure the venue does not send (nor what it could be computed from): never a 0."""
UNKNOWN = "unknown"
"""A figure the ledger cannot give exactly (its tooltip says why): never a 0 or a dash."""
NO_UNIT = "0 (no asset held)"
"""Nothing held or traded on the account: a zero no unit can be named for."""


def fmt_amounts(values: Amounts | None, *, signed: bool = False, units: Sequence[str] = (),
                unpublished: Sequence[str] = ()) -> str:
    """"12345.6 USDT · -0.01 BTC", each amount with its unit. Nothing: a zero in each of
    `units` ("0 USDT"; `NO_UNIT` without one); the assets in `unpublished`: "USDT not
    published" ("not published" alone when that is the whole figure); None: "unknown"."""
    if values is None:
        return UNKNOWN
    shown = [f"{fmt_decimal(v, signed=signed)} {asset or UNKNOWN_UNIT}"
             for asset, v in values if asset not in unpublished]
    missing = sorted(set(unpublished))
    if missing:
        if not shown and len(missing) == 1:
            return NOT_PUBLISHED
        shown += [f"{asset} {NOT_PUBLISHED}" if asset else NOT_PUBLISHED
                  for asset in missing]
        return " · ".join(shown)
    if shown:
        return " · ".join(shown)
    if not units:
        return NO_UNIT
    return " · ".join(f"0 {unit}" for unit in units)


@dataclass(frozen=True, slots=True)
class Summary:
    accounts: tuple[AccountFigures, ...]
    exposure: tuple[Exposure, ...]
    at: int


class SummaryPanel(QWidget):
    def __init__(self, workspace: Workspace, theme: ThemeState,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.theme = theme
        self.summary: Summary | None = None
        self.heading = QLabel(self)
        self.heading.setWordWrap(True)
        self.accounts_table = self._table(ACCOUNT_HEADERS, (150, 200, 200, 150, 170, 170))
        self.exposure_table = self._table(EXPOSURE_HEADERS, (100, 70, 110, 160, 160, 260))
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.accounts_table)
        split.addWidget(self.exposure_table)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.heading)
        layout.addWidget(split, 1)
        self._task: asyncio.Task[None] | None = None
        self.stopped = False
        self._stale = True
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh_soon)
        self.timer.start()
        workspace.accounts_changed.connect(self.refresh_soon)
        theme.changed.connect(self._render)
        self._render()

    def _table(self, headers: tuple[str, ...], widths: tuple[int, ...]) -> QTableWidget:
        table = QTableWidget(0, len(headers), self)
        table.setHorizontalHeaderLabels(list(headers))
        configure_view(table)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        for i, width in enumerate(widths):
            table.setColumnWidth(i, width)
        return table

    # -- reading -----------------------------------------------------------------------------

    def stop(self) -> None:
        """The window closes: no more reads, and none shown."""
        self.stopped = True
        self.timer.stop()
        if self._task is not None:
            self._task.cancel()

    def refresh_soon(self) -> None:
        """Re-read soon, when the dock is shown (hidden, it is read when it shows)."""
        if self.stopped:
            return
        if not self.isVisible():
            self._stale = True
            return
        if self._task is None or self._task.done():
            self._stale = False
            self._task = asyncio.ensure_future(self._refresh_logged())

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale or self.summary is None:
            self.refresh_soon()

    async def _refresh_logged(self) -> None:
        try:
            await self.refresh()
        except Exception:  # a failed read leaves the last figures up; the next tick retries
            log.exception("account summary: refresh failed")

    async def refresh(self) -> Summary:
        """Re-read and show the figures (tests await this). The tables' balances and
        positions are taken here; the fills are read, and every figure computed, in a
        worker thread (an account's day of fills is replayed there, not on the GUI path)."""
        now = self.workspace.clock_ms()
        midnight = utc_midnight_ms(now)
        reads = []
        held: dict[str, list[Position]] = {}
        assets: set[str] = set()
        for account in self.workspace.accounts:
            c = account.controller
            if not c.started:
                continue  # not read yet: no figure rather than zeros
            if account.baseline is None:  # started without `Workspace.start`: from now on
                account.baseline = Baseline(now, tuple(c.positions.records()))
            balances: list[Balance] = c.balances.records()
            positions: list[Position] = c.positions.records()
            held[c.label] = positions
            assets.update(b.asset for b in balances)
            reads.append(c.read(partial(
                self._figures, c, balances=balances, positions=positions,
                baseline=account.baseline, since=min(midnight, account.baseline.at), now=now)))
        figures = await asyncio.gather(*reads)
        if self.stopped:
            raise asyncio.CancelledError
        self.summary = Summary(tuple(figures), tuple(exposures(held, assets)), now)
        self._render()
        return self.summary

    @staticmethod
    def _figures(controller: ConsoleController, *, balances: list[Balance],
                 positions: list[Position], baseline: Baseline, since: int,
                 now: int) -> AccountFigures:
        """Runs in a worker thread: the account's fills since `since`, and its figures."""
        ident = controller.identity
        fills: list[Fill] = controller.book.fills(ident.venue, ident.account, since)
        return account_figures(controller.label, balances, positions, fills,
                               baseline=baseline, now_ms=now)

    # -- showing -----------------------------------------------------------------------------

    def _item(self, text: str, *, numeric: bool = False, tone: Tone | None = None,
              tip: str = "") -> QTableWidgetItem:
        item = QTableWidgetItem(text)
        if numeric:
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if tone is not None:
            item.setForeground(self.theme.color(tone))
        if tip:
            item.setToolTip(tip)
        return item

    def _pnl_tone(self, values: Amounts | None) -> Tone | None:
        if not values:
            return None
        signs = {v > 0 for _a, v in values if v != 0}
        return None if len(signs) != 1 else (Tone.GAIN if signs == {True} else Tone.LOSS)

    def _render(self) -> None:
        s = self.summary
        if s is None:
            self.heading.setText("Account summary: reading…")
            return
        self.heading.setText(
            f"Account summary at {fmt_ms(s.at)} (realised PnL: this session = since this "
            "window opened the account; today = since 00:00 UTC; fees and funding included)")
        self.accounts_table.setRowCount(len(s.accounts))
        for row, f in enumerate(s.accounts):
            notes = "\n".join(f.notes)
            upnl_tip = ("the venue's own figures" if f.venue_unrealised
                        else "computed from the mark price where the venue sends none")
            if f.unpublished:
                upnl_tip = f"{upnl_tip}\n{notes}"
            units, missing = f.units, f.unpublished
            cells = (
                self._item(f.label, tip=notes),
                self._item(fmt_amounts(f.equity, units=units, unpublished=missing),
                           numeric=True, tip="wallet balance + unrealised PnL, per asset"
                           + (f"\n{notes}" if missing else "")),
                self._item(fmt_amounts(f.available, units=units), numeric=True,
                           tip="available to trade, as the venue reports it"),
                self._item(fmt_amounts(f.unrealised, signed=True, units=units,
                                       unpublished=missing), numeric=True,
                           tone=self._pnl_tone(f.unrealised), tip=upnl_tip),
                self._item(fmt_amounts(f.realised_session, signed=True, units=units),
                           numeric=True, tone=self._pnl_tone(f.realised_session), tip=notes),
                self._item(fmt_amounts(f.realised_day, signed=True, units=units),
                           numeric=True, tone=self._pnl_tone(f.realised_day), tip=notes or
                           "replayed from the ledger's fills since 00:00 UTC"),
            )
            for col, item in enumerate(cells):
                self.accounts_table.setItem(row, col, item)
        self.exposure_table.setRowCount(len(s.exposure))
        for row, e in enumerate(s.exposure):
            accounts = ", ".join(f"{label} {fmt_decimal(size, signed=True)}"
                                 for label, size in e.by_account)
            side_tone = Tone.BUY if e.net_size > 0 else Tone.SELL if e.net_size < 0 else None
            cells = (
                self._item(e.symbol),
                self._item(e.category.value),
                self._item(fmt_decimal(e.net_size, signed=True), numeric=True, tone=side_tone),
                self._item(f"{fmt_decimal(e.net_notional, signed=True)} {e.unit}",
                           numeric=True, tone=side_tone,
                           tip="size x the venue's mark price (the entry price when it "
                               "sends no mark), netted across accounts"),
                self._item(f"{fmt_decimal(e.gross_notional)} {e.unit}", numeric=True),
                self._item(accounts, tip=accounts),
            )
            for col, item in enumerate(cells):
                self.exposure_table.setItem(row, col, item)

    def figures(self, label: str) -> AccountFigures | None:
        if self.summary is None:
            return None
        return next((f for f in self.summary.accounts if f.label == label), None)
