"""The emergency stop button (red, always visible) and the report of what it did: what
was cancelled, what was flattened, and above all what is still open."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QPushButton, QTextBrowser, QVBoxLayout, QWidget

from console.domain import Order, Position
from console.domain.reconciliation import Severity
from console.engine.emergency import EmergencyReport, headline, position_text
from console.ui.format import fmt_decimal, fmt_ms
from console.ui.theme import ThemeState, Tone


class EmergencyButton(QPushButton):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("EMERGENCY STOP", parent)
        self.setObjectName("emergencyStop")
        self.setToolTip("Halt at once (no new orders, strategies stopped; nothing sent to the "
                        "venue), then offer to cancel all orders and flatten positions")


def _order(o: Order) -> str:
    price = fmt_decimal(o.price) if o.price is not None else "market"
    return escape(f"{o.symbol} {o.side.value} {fmt_decimal(o.qty)} @ {price} — "
                  f"{o.status.value} ({o.client_order_id or o.venue_order_id})")


def _position(p: Position) -> str:
    return escape(f"{position_text(p)} @ {fmt_decimal(p.entry_price)}")


_TONES = {Severity.INFO: Tone.OK, Severity.WARNING: Tone.WARNING,
          Severity.CRITICAL: Tone.CRITICAL}


def headline_html(report: EmergencyReport, theme: ThemeState) -> str:
    """The report's headline (`console.engine.emergency.headline`, the CLI's too) in
    bold, green only for a verified all-clear."""
    line = headline(report)
    text = escape(line.text + ".")
    return f"<b><span style='color:{theme.hex(_TONES[line.severity])}'>{text}</span></b>"


def report_html(report: EmergencyReport, theme: ThemeState) -> str:
    """One account's emergency report as HTML: the headline, then what was cancelled,
    flattened, what is still open, the strategies, the reconciliation and the errors.
    Public: the global emergency report puts one of these per account."""
    def span(tone: Tone, text: str) -> str:
        return f"<span style='color:{theme.hex(tone)}'>{text}</span>"

    def listing(items: list[str], empty: str) -> str:
        if not items:
            return f"<p>{empty}</p>"
        return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"

    parts = [f"<h3>Emergency stop by {escape(report.operator)} at "
             f"{fmt_ms(report.started_at)}</h3>", f"<p>{headline_html(report, theme)}"
             + (" (trading was already halted)" if report.already_halted else "") + "</p>"]
    cancelled = [_order(o) for o in report.cancelled]
    cancelled += [escape(f"venue id {v or '–'} / client id {c or '–'} (not in the ledger)")
                  for v, c in report.cancelled_unknown]
    parts.append(f"<h4>Cancelled: {len(cancelled)}</h4>")
    parts.append(listing(cancelled, "No open order needed cancelling."))
    if report.late_cancelled:
        parts.append(f"<h4>Cancelled after landing late: {len(report.late_cancelled)}</h4>")
        parts.append(listing([_order(o) for o in report.late_cancelled], ""))
    if report.flatten:
        flat = [(_position(f.position) + " → "
                 + (_order(f.order) if f.order is not None else span(Tone.CRITICAL,
                                                                    escape(f.error))))
                for f in report.flattened]
        parts.append(f"<h4>Flattened: {len(flat)}</h4>")
        parts.append(listing(flat, "No position needed closing."))
    if report.open_orders is None:
        still_orders = span(Tone.CRITICAL, "the venue's open orders could not be read")
        parts.append(f"<h4>Still open orders: unknown</h4><p>{still_orders}</p>")
    else:
        parts.append(f"<h4>Still open orders: {len(report.open_orders)}</h4>")
        parts.append(listing([span(Tone.CRITICAL, _order(o)) for o in report.open_orders],
                             span(Tone.OK, "none")))
    if report.open_positions is None:
        still_positions = span(Tone.CRITICAL, "the venue's positions could not be read")
        parts.append(f"<h4>Still open positions: unknown</h4><p>{still_positions}</p>")
    else:
        parts.append(f"<h4>Still open positions: {len(report.open_positions)}</h4>")
        tone = Tone.CRITICAL if report.flatten else Tone.WARNING
        parts.append(listing([span(tone, _position(p)) for p in report.open_positions],
                             span(Tone.OK, "none")))
    stops = [escape(s.name) + (f": {span(Tone.CRITICAL, escape(s.error))}" if s.error
                               else " stopped") for s in report.strategies]
    parts.append(f"<h4>Strategies: {len(stops)}</h4>")
    parts.append(listing(stops, "No strategy was running."))
    parts.append(f"<p>Reconciliation {escape(report.reconcile_run[:12] or '–')}: "
                 f"{escape(report.reconcile_status)}, {report.reconcile_discrepancies} "
                 f"discrepancies. Venue requests: {report.requests_total}.</p>")
    if report.errors:
        parts.append("<h4>Errors</h4>")
        parts.append(listing([span(Tone.CRITICAL, escape(e)) for e in report.errors], ""))
    return "".join(parts)


class EmergencyReportPanel(QWidget):
    def __init__(self, theme: ThemeState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.browser = QTextBrowser(self)
        self.browser.setOpenLinks(False)
        self.browser.setHtml("<p>No emergency stop in this session.</p>")
        self.report: EmergencyReport | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.browser)
        theme.changed.connect(self._rerender)

    def show_report(self, report: EmergencyReport) -> None:
        self.report = report
        self.browser.setHtml(report_html(report, self.theme))

    def _rerender(self) -> None:
        if self.report is not None:
            self.show_report(self.report)

    def text(self) -> str:
        return self.browser.toPlainText()
