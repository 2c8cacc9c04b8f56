"""The status bar: what money is at stake (a permanent SIMULATED / TESTNET / MAINNET
badge), where, how the connections are, when the book was last verified, and whether new
risk may be taken. Refreshed once a second from memory (metrics, risk state): no I/O."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar, QWidget

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
        self.last_ok = QLabel(bar)
        self.risk = QLabel(bar)
        self.resume = QPushButton("Resume…", bar)
        self.resume.hide()
        bar.addWidget(self.badge)
        bar.addWidget(self.identity)
        permanent: tuple[QWidget, ...] = (self.stage, self.progress, self.rest, self.ws,
                                          self.last_ok, self.risk, self.resume)
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

    @property
    def risk_text(self) -> str:
        return self.risk.text()


def _short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


