"""The status bar: what money is at stake (a permanent SIMULATED / TESTNET / MAINNET
badge), where, how the connections are, whether the venue's dead-man's switch guards the
orders, when the book was last verified, whether a critical alert is active, and whether
new risk may be taken. Refreshed once a second from memory (metrics, risk state, the
venue port's last dead-man's switch answer): no I/O.

Every widget here is a *permanent* one. QStatusBar.showMessage hides the normal widgets
(those added with addWidget) for as long as a message shows, and Qt itself shows
messages on its own (an action's status tip while the mouse is over a menu): a badge
added with addWidget vanished whenever anything was said. So the badge and the identity
come first among the permanent widgets, and the bar's message is mirrored into a
permanent label beside them (`message`); the bar's own message area is left with no
width. A critical alert is shown from the alerts model while it is active, not as a
timed message, so it goes when the alert clears.

A remote account (its engine runs elsewhere) shows its health from the shared ledger in
place of the venue links: the lease holder ("remote: <engine id>", red "NO ENGINE" when no
engine renewed the lease within its TTL) and the holder's last heartbeat.

Hovering the last-OK label shows the account's coverage and budgets (`set_coverage`: the
fill history read, when each list was last verified, the tightest rate-limit budget).
Work that is not a reconciliation (a preview, a rehearsal) shows its progress with
`working` until `done_working`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from html import escape

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QSizePolicy, QStatusBar, QWidget

from console.domain.alerts import Alert
from console.domain.capabilities import DeadManState
from console.domain.events import ConnectionState
from console.domain.reconciliation import RunStatus, Severity
from console.engine.coverage import CoverageReport
from console.engine.lease import LeaseKeeper, LeaseState
from console.ui.controller import ConsoleController
from console.ui.fleet import health_text
from console.ui.format import fmt_age, fmt_latency, fmt_utc, plural
from console.ui.notifications import Notice
from console.ui.theme import ThemeState, Tone
from console.ui.widgets.coverage import coverage_tooltip

log = logging.getLogger(__name__)


SQUEEZED_WIDTH = 48
"""How narrow a label of the bar that gives way in a narrow window may get."""


class StatusPanel(QObject):
    """Fills a QStatusBar with permanent widgets and keeps them current. A child of the
    bar: the models' signals it listens to stop reaching it when the window goes."""

    def __init__(self, bar: QStatusBar, controller: ConsoleController, theme: ThemeState,
                 *, clock_ms: Callable[[], int]) -> None:
        super().__init__(bar)
        self.bar = bar
        self.controller = controller
        self.theme = theme
        self.clock_ms = clock_ms
        ident = controller.identity
        self.badge = QLabel(ident.badge.value, bar)
        self.badge.setObjectName("badge")
        self.badge.setProperty("badge", ident.badge.value)
        self.identity = QLabel(bar)
        read_only = "  ·  READ-ONLY" if controller.read_only else ""
        self.identity.setText(f"{ident.profile}  ·  {ident.venue}/{ident.account}{read_only}")
        self.identity.setToolTip(ident.detail or f"{ident.venue}/{ident.account}")
        self.message = QLabel(bar)
        self.message.setObjectName("statusMessage")
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # venue and exception text
        # shrinks (the text is cut, the tooltip keeps it) rather than widening the bar
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.message.setMinimumWidth(40)
        self.alert = QLabel(bar)
        self.alert.setObjectName("criticalAlert")
        self.alert.hide()
        self.progress = QProgressBar(bar)
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(110)
        self.progress.hide()
        self.stage = QLabel(bar)
        self.rest = QLabel(bar)
        self.ws = QLabel(bar)
        self.dead_man = QLabel(bar)
        self.dead_man.setObjectName("deadMan")
        self.dead_man.hide()
        self.last_ok = QLabel(bar)
        self.risk = QLabel(bar)
        self.resume = QPushButton("Resume…", bar)
        self.resume.hide()
        self.coverage: CoverageReport | None = None
        self.working_text = ""
        """What a preview or rehearsal is doing ("" when none runs)."""
        # A narrow window (1024 px) squeezes these, cut at the right, before the badge,
        # the trading state and Resume: each shows whole whenever the bar has room.
        for label in (self.identity, self.alert, self.stage, self.rest, self.ws,
                      self.last_ok):
            label.setMinimumWidth(SQUEEZED_WIDTH)
        bar.addPermanentWidget(self.badge)
        bar.addPermanentWidget(self.identity)
        bar.addPermanentWidget(self.message, 1)
        permanent: tuple[QWidget, ...] = (self.alert, self.stage, self.progress, self.rest,
                                          self.ws, self.dead_man, self.last_ok, self.risk,
                                          self.resume)
        for widget in permanent:
            bar.addPermanentWidget(widget)
        bar.messageChanged.connect(self._message)
        alerts = controller.alerts_model
        for signal in (alerts.modelReset, alerts.rowsInserted, alerts.rowsRemoved,
                       alerts.dataChanged, alerts.layoutChanged):
            signal.connect(self._alerts_changed)
        controller.run_started.connect(self._run_started)
        controller.run_progress.connect(self._stage)
        controller.run_finished.connect(lambda _o: self._run_done())
        controller.risk_changed.connect(self.update)
        controller.stream_changed.connect(lambda _s: self.update())
        controller.engine_started.connect(self._run_done)
        controller.work_progress.connect(self.working)
        controller.work_done.connect(self.done_working)
        theme.changed.connect(self.update)
        theme.changed.connect(self._alerts_changed)
        self.timer = QTimer(bar)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.update)
        self.timer.start()
        self.update()
        self._alerts_changed()

    def _message(self, text: str) -> None:
        self.message.setText(text)
        # a tooltip guesses rich text from the text: escape it, so it shows as written
        self.message.setToolTip(f"<p>{escape(text)}</p>" if text else "")

    def noticed(self, notice: Notice) -> None:
        """A critical alert was raised (the notifier told the tray, or nobody): the alert
        label shows it once the alerts model holds it, and for as long as it is active."""
        self._alerts_changed()
        if notice.shown_by == "window":
            log.info("critical alert shown in the status bar: %s", notice.title)

    def critical_alerts(self) -> list[Alert]:
        """The active critical alerts the window holds (the alerts model, refreshed on
        every raise and clear)."""
        return [a for a in self.controller.alerts_model.records()
                if a.is_active and a.severity is Severity.CRITICAL]

    def _alerts_changed(self, *_args: object) -> None:
        alerts = self.critical_alerts()
        self.alert.setVisible(bool(alerts))
        if not alerts:
            self.alert.clear()
            self.alert.setToolTip("")
            return
        if len(alerts) == 1:
            text = f"CRITICAL: {alerts[0].rule}"
        else:
            text = f"{plural(len(alerts), 'critical alert')}"
        self.alert.setText(self._span(Tone.CRITICAL, f"<b>{escape(text)}</b>"))
        # rich text, every part escaped: an alert's message may quote the venue
        self.alert.setToolTip("<p>" + "<br>".join(
            escape(f"{a.rule} ({a.subject}): {a.message}") for a in alerts) + "</p>")

    def _span(self, tone: Tone, text: str) -> str:
        return f"<span style='color:{self.theme.hex(tone)}'>{text}</span>"

    def _run_started(self, trigger: str) -> None:
        self.progress.show()
        self.stage.setText(f"Reconciling ({trigger})…")

    def _stage(self, stage: str) -> None:
        self.progress.show()
        self.stage.setText(f"Reconciling: {stage}…")

    def working(self, text: str) -> None:
        """Show progress for work other than a reconciliation (a preview, a rehearsal)."""
        self.working_text = text
        self.progress.show()
        self.stage.setText(text)

    def done_working(self) -> None:
        self.working_text = ""
        self._run_done()

    def set_coverage(self, report: CoverageReport) -> None:
        """The account's latest coverage report, shown when hovering the last-OK label."""
        self.coverage = report
        self.update()

    def _run_done(self) -> None:
        if self.working_text:
            self.stage.setText(self.working_text)
            return
        if not self.controller.reconciling:
            self.progress.hide()
            self.stage.setText("")
        self.update()

    def update(self) -> None:
        c = self.controller
        now = self.clock_ms()
        if not c.reconciling and not self.working_text and self.progress.isVisible():
            self.progress.hide()
            self.stage.setText("")
        snap = c.metrics_snapshot()
        rest_p50 = snap.latency["rest"].p50 if "rest" in snap.latency else None
        ws_p50 = snap.latency["ws"].p50 if "ws" in snap.latency else None
        outcome = c.last_outcome
        if outcome is None:
            rest_state, rest_tone = "connecting", Tone.INFO
        elif outcome.run.status is RunStatus.FAILED:
            rest_state, rest_tone = "down", Tone.CRITICAL
        elif outcome.run.status is RunStatus.PARTIAL:
            rest_state, rest_tone = "degraded", Tone.WARNING
        else:
            rest_state, rest_tone = "connected", Tone.OK
        self.rest.setText(f"REST {self._span(rest_tone, rest_state)} · {fmt_latency(rest_p50)}")
        ws_tone = {ConnectionState.CONNECTED: Tone.OK, ConnectionState.CONNECTING: Tone.INFO,
                   ConnectionState.RECONNECTING: Tone.WARNING,
                   ConnectionState.DOWN: Tone.CRITICAL}[c.stream_state]
        self.ws.setText(f"WS {self._span(ws_tone, c.stream_state.value)} · "
                        f"{fmt_latency(ws_p50)}")
        if c.remote is not None:
            shown = health_text(c.health)
            self.rest.setText(self._span(shown.engine_tone, escape(shown.engine)))
            self.ws.setText(self._span(shown.heartbeat_tone, escape(shown.heartbeat)))
            self.rest.setToolTip(escape(shown.tooltip))
            self.ws.setToolTip(escape(shown.tooltip))
        age_limit = c.alert_age_ms()
        stale = c.last_ok_at is None or now - c.last_ok_at > age_limit
        last_tone = Tone.CRITICAL if stale and c.started else Tone.OK
        self.last_ok.setText("Last OK reconcile: "
                             + self._span(last_tone, fmt_age(c.last_ok_at, now)))
        tip = f"{fmt_utc(c.last_ok_at)}; red after {age_limit // 1000} s without a successful run"
        if self.coverage is not None:
            tip += "\n\n" + coverage_tooltip(self.coverage, now)
        # rich text, escaped: endpoint names and venue errors are shown as written
        self.last_ok.setToolTip("<p style='white-space:pre'>" + escape(tip) + "</p>")
        self.last_ok.setProperty("stale", stale)
        self._show_dead_man(c.dead_man_state(), now)
        risk = c.risk
        if risk.halted:
            text = self._span(Tone.CRITICAL, "<b>HALTED</b>") + f": {escape(risk.halt_reason)}"
        elif c.emergency_running:
            text = self._span(Tone.CRITICAL, "<b>EMERGENCY STOP RUNNING</b>")
        elif risk.paused:
            text = self._span(Tone.WARNING, "<b>PAUSED</b>") + f": {escape(headline(risk.reason))}"
        else:
            text = self._span(Tone.OK, "<b>TRADING</b>")
        tip = risk.halt_reason or risk.reason or "new orders are accepted"
        if risk.quarantine:
            held = ", ".join(sorted(risk.quarantine))
            text += " · " + self._span(Tone.WARNING, "<b>QUARANTINED</b>") + f": {escape(held)}"
            tip += ("\nQuarantined (an order's outcome is unknown; reduce-only passes): "
                    + "; ".join(f"{instrument}: {', '.join(sorted(orders))}"
                                for instrument, orders in sorted(risk.quarantine.items())))
        observing = lease_observing(c.lease)
        if observing is not None:
            # another engine trades this account (a shared ledger): nothing here sends
            text = self._span(Tone.WARNING, "<b>OBSERVING</b>") + f": {escape(observing)}"
            tip = ("Another engine holds this account's lease: this window shows the "
                   f"ledger and sends nothing until the lease is free.\n{observing}")
        self.risk.setText(text)
        self.risk.setToolTip(tip)
        self.resume.setVisible(observing is None and (risk.halted or risk.paused))

    def _show_dead_man(self, state: DeadManState | None, now: int) -> None:
        shown = dead_man_text(state, now)
        self.dead_man.setVisible(shown is not None)
        if shown is None:
            self.dead_man.clear()
            self.dead_man.setToolTip("")
            return
        tone, text, tip = shown
        self.dead_man.setText("Dead-man: " + self._span(tone, escape(text)))
        self.dead_man.setToolTip(tip)
        self.dead_man.setProperty("tone", tone.value)

    @property
    def risk_text(self) -> str:
        return self.risk.text()


def lease_observing(lease: LeaseKeeper | None) -> str | None:
    """What the lease says when this engine only observes (another engine holds the
    account on a shared PostgreSQL ledger), else None (no lease, held, or one process)."""
    if lease is None:
        return None
    status = lease.status()
    if not status.enforced or status.state is not LeaseState.OBSERVING:
        return None
    return status.describe()


def dead_man_text(state: DeadManState | None, now: int) -> tuple[Tone, str, str] | None:
    """(tone, text, tooltip) for the venue's dead-man's switch; None shows nothing.

    Nothing is shown when the venue has no switch or it was never asked for (the profile
    leaves it off by default): a permanent "off" on every window would be noise the
    operator learns to skip. Once asked for, every state is shown, because each one
    changes what happens to the orders if this console dies: armed (they are cancelled
    `timeout` after the last refresh), failing to refresh (amber: the countdown still
    runs and fires unless a refresh gets through), run out (red: the venue has cancelled
    them, or is about to), disarmed (it no longer guards anything).
    """
    if state is None:
        return None
    error = f" ({state.last_error})" if state.last_error else ""
    runs_out = state.runs_out_at()
    covers = ("the account" if state.symbols is None
              else f"{state.symbols} symbol{'' if state.symbols == 1 else 's'}")
    if runs_out is None:
        if error:
            return (Tone.WARNING, f"not armed{error}",
                    "The venue refused or did not answer the request to arm the dead-man's "
                    "switch: nothing cancels the orders if this console dies. The next "
                    "heartbeat tries again.")
        return (Tone.MUTED, "disarmed", "The dead-man's switch was disarmed: nothing "
                "cancels the orders if this console dies.")
    seconds = (state.timeout_ms or 0) // 1000
    refreshed = fmt_age(state.refreshed_at, now)
    detail = (f"Armed for {seconds} s on {covers}; last confirmed by the venue "
              f"{fmt_utc(state.refreshed_at)}. If no refresh reaches the venue by "
              f"{fmt_utc(runs_out)}, it cancels the open orders.")
    if now >= runs_out:
        return (Tone.CRITICAL, f"ran out{error}: the venue cancels the orders",
                detail + " That time has passed.")
    if error:
        left = max(0, (runs_out - now) // 1000)
        return (Tone.WARNING, f"refresh failed{error}, fires in {left} s",
                detail + " The last refresh failed; the next heartbeat tries again.")
    if state.symbols == 0:
        return (Tone.INFO, f"armed {seconds} s, no symbol yet, refreshed {refreshed}",
                detail + " No symbol is traded yet: the next refresh covers new ones.")
    return Tone.OK, f"armed {seconds} s, refreshed {refreshed}", detail


HEADLINE_CHARS = 40


def headline(reason: str) -> str:
    """The cause of a pause in a few words, whole ("hard desync", "still paused"): the
    part of the reason before its first colon. The full reason is the label's tooltip; a
    reason cut mid-sentence at a fixed length read as a clipped text."""
    head = reason.split(": ", 1)[0].strip()
    if not head:
        return "see the tooltip"
    if len(head) <= HEADLINE_CHARS:
        return head + (" (hover for why)" if head != reason.strip() else "")
    words = head[:HEADLINE_CHARS].rsplit(" ", 1)[0]
    return f"{words} … (hover for the whole reason)"


