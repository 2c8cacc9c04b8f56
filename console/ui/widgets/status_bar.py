"""The status bar: what money is at stake (a permanent SIMULATED / TESTNET / MAINNET
badge), where, how the connections are, whether the venue's dead-man's switch guards the
orders, when the book was last verified, and whether new risk may be taken. Refreshed once
a second from memory (metrics, risk state, the venue port's last dead-man's switch
answer): no I/O."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar, QWidget

from console.domain.capabilities import DeadManState
from console.domain.events import ConnectionState
from console.domain.reconciliation import RunStatus
from console.ui.controller import ConsoleController
from console.ui.format import fmt_age, fmt_latency, fmt_utc
from console.ui.theme import ThemeState, Tone


class StatusPanel:
    """Fills a QStatusBar with permanent widgets and keeps them current."""

    def __init__(self, bar: QStatusBar, controller: ConsoleController, theme: ThemeState,
                 *, clock_ms: Callable[[], int]) -> None:
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
        bar.addWidget(self.badge)
        bar.addWidget(self.identity)
        permanent: tuple[QWidget, ...] = (self.stage, self.progress, self.rest, self.ws,
                                          self.dead_man, self.last_ok, self.risk,
                                          self.resume)
        for widget in permanent:
            bar.addPermanentWidget(widget)
        controller.run_started.connect(self._run_started)
        controller.run_progress.connect(self._stage)
        controller.run_finished.connect(lambda _o: self._run_done())
        controller.risk_changed.connect(self.update)
        controller.stream_changed.connect(lambda _s: self.update())
        controller.engine_started.connect(self._run_done)
        theme.changed.connect(self.update)
        self.timer = QTimer(bar)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.update)
        self.timer.start()
        self.update()

    def _span(self, tone: Tone, text: str) -> str:
        return f"<span style='color:{self.theme.hex(tone)}'>{text}</span>"

    def _run_started(self, trigger: str) -> None:
        self.progress.show()
        self.stage.setText(f"Reconciling ({trigger})…")

    def _stage(self, stage: str) -> None:
        self.progress.show()
        self.stage.setText(f"Reconciling: {stage}…")

    def _run_done(self) -> None:
        if not self.controller.reconciling:
            self.progress.hide()
            self.stage.setText("")
        self.update()

    def update(self) -> None:
        c = self.controller
        now = self.clock_ms()
        if not c.reconciling and self.progress.isVisible():
            self.progress.hide()
            self.stage.setText("")
        snap = c.session.metrics.snapshot()
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
        age_limit = c.alert_age_ms()
        stale = c.last_ok_at is None or now - c.last_ok_at > age_limit
        last_tone = Tone.CRITICAL if stale and c.started else Tone.OK
        self.last_ok.setText("Last OK reconcile: "
                             + self._span(last_tone, fmt_age(c.last_ok_at, now)))
        self.last_ok.setToolTip(
            f"{fmt_utc(c.last_ok_at)}; red after {age_limit // 1000} s without a successful run")
        self.last_ok.setProperty("stale", stale)
        self._show_dead_man(c.session.venue.dead_man_state(), now)
        risk = c.session.risk
        if risk.halted:
            text = self._span(Tone.CRITICAL, "<b>HALTED</b>") + f": {escape(risk.halt_reason)}"
        elif c.emergency_running:
            text = self._span(Tone.CRITICAL, "<b>EMERGENCY STOP RUNNING</b>")
        elif risk.paused:
            text = self._span(Tone.WARNING, "<b>PAUSED</b>") + f": {escape(_short(risk.reason))}"
        else:
            text = self._span(Tone.OK, "<b>TRADING</b>")
        tip = risk.halt_reason or risk.reason or "new orders are accepted"
        if risk.quarantine:
            held = ", ".join(sorted(risk.quarantine))
            text += " · " + self._span(Tone.WARNING, "<b>QUARANTINED</b>") + f": {escape(held)}"
            tip += ("\nQuarantined (an order's outcome is unknown; reduce-only passes): "
                    + "; ".join(f"{instrument}: {', '.join(sorted(orders))}"
                                for instrument, orders in sorted(risk.quarantine.items())))
        self.risk.setText(text)
        self.risk.setToolTip(tip)
        self.resume.setVisible(risk.halted or risk.paused)

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


def _short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


