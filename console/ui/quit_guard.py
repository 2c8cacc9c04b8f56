"""Quitting while money is at work asks first, and says what stays behind.

Closing the window stops every engine in it: nothing watches, reconciles or stops the
accounts until the console runs again, while their orders rest and their positions stay
open on the venues, and a halt stays in force (it is restored at the next start). Ctrl+Q
and the window's close button once quit at once, whatever was open. Now both go through
`QuitGuard`: with nothing open and no account halted or paused the window closes at
once; otherwise the operator confirms once (through the window's `Confirmer`, so tests
answer for the operator), told, account by account, the open orders, the positions and
the trading state that stay.

A close the program asks for itself (`window.close()`: the shutdown of a test, an
embedding host) is not a quit by the operator and passes; the window manager's close
button is (its close event is spontaneous).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from PySide6.QtGui import QCloseEvent

from console.ui.format import plural
from console.ui.models.orders import VenueOnlyOrder
from console.ui.window_ref import WindowPart

if TYPE_CHECKING:
    from console.ui.main_window import MainWindow

log = logging.getLogger(__name__)


def what_stays(window: MainWindow) -> list[str]:
    """Per open account: its trading state if not TRADING, its open orders and positions
    (as the window holds them); an account with nothing of these says nothing."""
    lines: list[str] = []
    workspace = window.workspace
    for controller in workspace.controllers():
        ident = controller.identity
        risk = controller.risk
        state: list[str] = []
        if risk.halted:
            state.append("  HALTED: new orders stay refused; the next start restores the "
                         f"halt ({risk.halt_reason or 'no reason given'})")
        elif risk.paused:
            state.append(f"  PAUSED (reduce-only): {risk.reason or 'desync'}")
        held = workspace.staying_open(controller)
        unlisted = sum(1 for o in controller.orders.records()
                       if o.is_active and isinstance(o, VenueOnlyOrder))
        if unlisted:
            held.append(f"  ({plural(unlisted, 'order')} of these not in the ledger)")
        if not state and not held:
            continue
        orders = sum(1 for o in controller.orders.records() if o.is_active)
        positions = len(controller.positions.records())
        lines.append(f"{ident.badge.value} {controller.label} ({ident.venue}/{ident.account}): "
                     f"{plural(orders, 'open order')}, {plural(positions, 'position')}")
        lines += state + held
    return lines


class QuitGuard(WindowPart):
    """Holds the window's close until the operator confirms what stays open."""

    def __init__(self, window: MainWindow) -> None:
        self._hold_window(window)  # weakly: see `WindowPart`
        self.allowed = False
        self.asking: asyncio.Task[object] | None = None

    def intercept(self, event: QCloseEvent) -> bool:
        """The first step of the window's closeEvent: True when this close is held (the
        event is ignored and the operator asked); False lets it through."""
        if self.allowed or not event.spontaneous():
            return False
        event.ignore()
        self.request()
        return True

    def request(self) -> asyncio.Task[object] | None:
        """Quit as the operator asked (Ctrl+Q, File > Quit, the close button)."""
        if self.asking is not None and not self.asking.done():
            return None  # already asking
        self.asking = self.window.run(self.ask(), "quit")
        return self.asking

    async def ask(self) -> bool:
        """True when the window closes."""
        lines = what_stays(self.window)
        if lines:
            confirmer = self.window.workspace.confirmer
            if not await confirmer.confirm(
                    "Quit Recon Console",
                    "Quit? Every engine in this window stops: nothing watches, reconciles or "
                    "stops these accounts until the console runs again. This stays as it is "
                    "on the venues:", lines, accept="Quit"):
                self.window.say("Quit cancelled: the console keeps running.", 8000)
                return False
            log.warning("quit with %d line(s) left open: %s", len(lines), "; ".join(lines))
        self.allowed = True
        self.window.close()
        return True
