"""The accounts bar: one entry per open account (what money is at stake, whether the
venue is reachable, when the book was last verified, whether it may trade, how many
alerts are active) and "All accounts". Choosing one scopes every table to it.

A remote account (its engine runs elsewhere: `console.ui.remote`) says so in place of the
venue link: "remote: <engine id>" (the lease holder), or "remote: NO ENGINE" in red when
no engine renewed its lease within the TTL, and the holder's last heartbeat.

Refreshed once a second from memory (the controllers' state), and at once when an
account's risk, stream or runs change: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from console.domain.events import ConnectionState
from console.domain.reconciliation import RunStatus
from console.ui.controller import ConsoleController
from console.ui.fleet import health_text
from console.ui.format import fmt_age, fmt_utc, plural
from console.ui.theme import ThemeState, Tone
from console.ui.workspace import Workspace

ALL = "All accounts"
MODE_TONES = {"TRADING": Tone.OK, "HALTED": Tone.CRITICAL, "PAUSED": Tone.WARNING}


def connection(controller: ConsoleController) -> tuple[str, Tone]:
    """One word for the venue link: the private stream's state, unless the last
    reconciliation could not read the venue (REST) at all. A remote account: the engine
    that holds its lease."""
    if controller.remote is not None:
        shown = health_text(controller.health)
        return shown.engine, shown.engine_tone
    outcome = controller.last_outcome
    if outcome is not None and outcome.run.status is RunStatus.FAILED:
        return "REST down", Tone.CRITICAL
    state = controller.stream_state
    tone = {ConnectionState.CONNECTED: Tone.OK, ConnectionState.CONNECTING: Tone.INFO,
            ConnectionState.RECONNECTING: Tone.WARNING,
            ConnectionState.DOWN: Tone.CRITICAL}[state]
    if outcome is not None and outcome.run.status is RunStatus.PARTIAL and tone is Tone.OK:
        return "degraded", Tone.WARNING
    return state.value, tone


class AccountEntry(QFrame):
    """One account: its badge, its name (the button that selects it) and its state."""

    def __init__(self, controller: ConsoleController, theme: ThemeState,
                 clock_ms: Callable[[], int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.theme = theme
        self.clock_ms = clock_ms
        self.setObjectName("accountEntry")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        ident = controller.identity
        self.badge = QLabel(ident.badge.value, self)
        self.badge.setObjectName("badge")
        self.badge.setProperty("badge", ident.badge.value)
        self.button = QPushButton(controller.label, self)
        self.button.setCheckable(True)
        self.button.setFlat(False)  # a checked button shows the account selected
        self.button.setToolTip(
            f"{ident.profile}: {ident.venue}/{ident.account}"
            + (" (read-only)" if controller.read_only else "")
            + (f"\n{ident.detail}" if ident.detail else "")
            + "\nShow only this account in every table")
        self.state = QLabel(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 1, 4, 1)
        layout.setSpacing(6)
        layout.addWidget(self.badge)
        layout.addWidget(self.button)
        layout.addWidget(self.state)
        for signal in (controller.risk_changed, controller.engine_started):
            signal.connect(self.refresh)
        controller.stream_changed.connect(self._refresh_text)
        controller.run_finished.connect(self._refresh_outcome)
        self.refresh()

    def _span(self, tone: Tone, text: str) -> str:
        return f"<span style='color:{self.theme.hex(tone)}'>{escape(text)}</span>"

    def _refresh_text(self, _text: str) -> None:
        self.refresh()

    def _refresh_outcome(self, _outcome: object) -> None:
        self.refresh()

    def parts(self) -> tuple[str, str, str, int]:
        """(connection, last OK reconcile, trading mode, active alerts) as shown."""
        c = self.controller
        link, _tone = connection(c)
        return link, fmt_age(c.last_ok_at, self.clock_ms()), c.trading_mode, len(
            c.active_alerts())

    def refresh(self) -> None:
        c = self.controller
        now = self.clock_ms()
        link, link_tone = connection(c)
        mode = c.trading_mode
        alerts = len(c.active_alerts())
        stale = c.last_ok_at is None or now - c.last_ok_at > c.alert_age_ms()
        age_tone = Tone.CRITICAL if stale and c.started else Tone.OK
        beat = health_text(c.health) if c.remote is not None else None
        self.state.setText(
            " · ".join([self._span(link_tone, link),
                        *([self._span(beat.heartbeat_tone, beat.heartbeat)]
                          if beat is not None and beat.heartbeat else []),
                        "OK " + self._span(age_tone, fmt_age(c.last_ok_at, now)),
                        "<b>" + self._span(MODE_TONES.get(mode, Tone.INFO), mode) + "</b>",
                        self._span(Tone.CRITICAL if alerts else Tone.MUTED,
                                   plural(alerts, "alert"))]))
        risk = c.risk
        self.state.setToolTip(
            (f"{beat.tooltip}\n" if beat is not None else f"Link: {link}\n")
            + f"Last OK reconciliation: {fmt_utc(c.last_ok_at)}\n"
            f"Trading: {mode}"
            + (f" ({risk.halt_reason or risk.reason})" if mode != "TRADING" else "")
            + f"\nActive alerts: {alerts}")

    def plain_text(self) -> str:
        """What the entry says, as plain text (tests, accessibility)."""
        link, age, mode, alerts = self.parts()
        c = self.controller
        beat = health_text(c.health).heartbeat if c.remote is not None else ""
        return (f"{c.identity.badge.value} {c.label}: {link} · "
                + (f"{beat} · " if beat else "")
                + f"OK {age} · {mode} · {plural(alerts, 'alert')}")


class AccountsBar(QWidget):
    """The entries and "All accounts"; `selected` carries a label, or "" for all."""

    selected = Signal(str)

    def __init__(self, workspace: Workspace, theme: ThemeState,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("accountsBar")
        self.workspace = workspace
        self.theme = theme
        self.entries: dict[str, AccountEntry] = {}
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.all_button = QPushButton(ALL, self)
        self.all_button.setObjectName("allAccounts")
        self.all_button.setCheckable(True)
        self.all_button.setToolTip("Every table shows every open account, with an Account "
                                   "column")
        self.all_button.clicked.connect(lambda: self.select(None))
        self.group.addButton(self.all_button)
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(2, 0, 2, 0)
        self.layout_.setSpacing(4)
        self.layout_.addWidget(self.all_button)
        self.layout_.addStretch(1)
        workspace.account_added.connect(self._added)
        workspace.account_closing.connect(self._closing)
        workspace.scope_changed.connect(self._show_scope)
        workspace.accounts_changed.connect(self._show_scope)
        for controller in workspace.controllers():
            self._added(controller)
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        theme.changed.connect(self.refresh)
        self._show_scope()

    def _added(self, controller: object) -> None:
        if not isinstance(controller, ConsoleController) or controller.label in self.entries:
            return
        entry = AccountEntry(controller, self.theme, self.workspace.clock_ms, self)
        label = controller.label
        # the button goes with the entry, and the connection with it
        entry.button.clicked.connect(lambda _checked=False: self.select(label))
        self.group.addButton(entry.button)
        self.entries[controller.label] = entry
        self.layout_.insertWidget(self.layout_.count() - 1, entry)
        self._show_scope()

    def _closing(self, controller: object) -> None:
        if not isinstance(controller, ConsoleController):
            return
        entry = self.entries.pop(controller.label, None)
        if entry is not None:
            self.group.removeButton(entry.button)
            self.layout_.removeWidget(entry)
            entry.hide()
            entry.deleteLater()
        self._show_scope()

    def select(self, label: str | None) -> None:
        self.workspace.set_scope(label)
        self.selected.emit(label or "")

    def _show_scope(self) -> None:
        scope = self.workspace.scope
        n = len(self.entries)
        self.all_button.setText(f"{ALL} ({n})")
        button = self.entries[scope].button if scope in self.entries else self.all_button
        button.setChecked(True)
        self.refresh()

    def refresh(self) -> None:
        for entry in self.entries.values():
            entry.refresh()

