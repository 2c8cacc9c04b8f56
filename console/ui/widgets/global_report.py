"""The emergency stop of every account: its button (beside the one-account stop) and its
report, the total first, then each account's own report as the one-account panel
renders it (`console.ui.widgets.emergency.report_html`)."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from PySide6.QtWidgets import QPushButton, QTextBrowser, QVBoxLayout, QWidget

from console.ui.format import fmt_ms, plural
from console.ui.global_stop import AccountStop, GlobalReport
from console.ui.theme import ThemeState, Tone
from console.ui.widgets.emergency import report_html


class GlobalStopButton(QPushButton):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("STOP ALL ACCOUNTS", parent)
        self.setObjectName("emergencyStop")
        self.setToolTip("Halt every open account at once (nothing sent), then offer to "
                        "cancel all orders (and flatten) on every account in parallel")


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} ms"


def _count(value: int | None) -> str:
    return "unknown" if value is None else str(value)


def global_html(report: GlobalReport, theme: ThemeState) -> str:
    def span(tone: Tone, text: str) -> str:
        return f"<span style='color:{theme.hex(tone)}'>{text}</span>"

    tone = (Tone.OK if report.nothing_open
            else Tone.CRITICAL if report.open_orders != 0 or report.errors
            else Tone.WARNING)
    what = "cancel all and flatten" if report.flatten else "cancel all"
    parts = [
        f"<h3>Emergency stop of every account ({what}) by {escape(report.operator)} at "
        f"{fmt_ms(report.started_at)}</h3>",
        f"<p><b>{span(tone, escape(report.headline + '.'))}</b></p>",
        f"<p>Every account halted in memory within {report.halted_ms:.2f} ms of the press; "
        f"last cancel acknowledged {_ms(report.last_cancel_acknowledged_ms)} after it; "
        f"whole stop {report.total_ms:.0f} ms.</p>",
        "<table cellspacing='0' cellpadding='3' border='1'><tr><th>Account</th><th>Halt</th>"
        "<th>Cancelled</th><th>Flattened</th><th>Still open orders</th>"
        "<th>Still open positions</th><th>Cancel acknowledged</th></tr>",
    ]
    for a in report.accounts:
        parts.append(_row(a, span))
    parts.append(
        f"<tr><td><b>Total ({plural(len(report.accounts), 'account')})</b></td><td></td>"
        f"<td><b>{report.cancelled}</b></td><td><b>{report.flattened}</b></td>"
        f"<td><b>{_count(report.open_orders)}</b></td>"
        f"<td><b>{_count(report.open_positions)}</b></td>"
        f"<td><b>{_ms(report.last_cancel_acknowledged_ms)}</b></td></tr></table>")
    if report.errors:
        parts.append("<h4>Errors</h4><ul>" + "".join(
            f"<li>{span(Tone.CRITICAL, escape(e))}</li>" for e in report.errors) + "</ul>")
    for a in report.accounts:
        parts.append(f"<hr><h3>{escape(a.identity.badge.value)} {escape(a.label)} "
                     f"({escape(a.identity.venue)}/{escape(a.identity.account)})</h3>")
        if a.report is not None:
            parts.append(report_html(a.report, theme))
        else:
            tone_of = Tone.WARNING if a.read_only else Tone.CRITICAL
            parts.append(f"<p>{span(tone_of, escape(a.summary))}</p>")
            if a.strategies_stopped:
                parts.append("<p>Strategies stopped: "
                             + escape(", ".join(a.strategies_stopped)) + "</p>")
    return "".join(parts)


def _row(a: AccountStop, span: Callable[[Tone, str], str]) -> str:
    halt = "halted" if a.newly_halted else "already halted"
    if a.read_only:
        halt += " (read-only: halt only)"
    cells = [escape(f"{a.identity.badge.value} {a.label}"), escape(halt)]
    if a.read_only or a.report is None:
        note = "not asked (read-only)" if a.read_only else escape(a.error or "failed")
        cells += [note, "–", "–", "–", "–"]
    else:
        orders, positions = a.open_orders, a.open_positions
        cells += [str(a.cancelled), str(a.flattened) if a.report.flatten else "–",
                  span(Tone.OK if orders == 0 else Tone.CRITICAL, _count(orders)),
                  span(Tone.OK if positions == 0 else Tone.WARNING, _count(positions)),
                  _ms(a.cancel_acknowledged_ms)]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


class GlobalReportPanel(QWidget):
    def __init__(self, theme: ThemeState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.browser = QTextBrowser(self)
        self.browser.setOpenLinks(False)
        self.browser.setHtml("<p>No emergency stop of every account in this session.</p>")
        self.report: GlobalReport | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.browser)
        theme.changed.connect(self._rerender)

    def show_report(self, report: GlobalReport) -> None:
        self.report = report
        self.browser.setHtml(global_html(report, self.theme))

    def _rerender(self) -> None:
        if self.report is not None:
            self.show_report(self.report)

    def text(self) -> str:
        return self.browser.toPlainText()
