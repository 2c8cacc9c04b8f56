"""The emergency report panel's headline: never "Nothing is left open." in green above a
position it lists as still open; it names what is open and what could not be read."""

from __future__ import annotations

from decimal import Decimal

from pytestqt.qtbot import QtBot

from console.domain import Category, Position
from console.engine.emergency import EmergencyReport
from console.ui.theme import ThemeState, Tone
from console.ui.widgets.emergency import EmergencyReportPanel, report_html


def stop_report(**fields: object) -> EmergencyReport:
    base: dict[str, object] = {"operator": "alice", "started_at": 1_796_000_000_000,
                               "finished_at": 1_796_000_000_100, "flatten": False,
                               "already_halted": False, "open_orders": (),
                               "open_positions": ()}
    base.update(fields)
    return EmergencyReport(**base)  # type: ignore[arg-type]


ETH_LONG = Position(venue="sim", account="main", category=Category.LINEAR, symbol="ETHUSDT",
                    size=Decimal("0.2"), entry_price=Decimal("3000.01"))


def headline_of(html: str) -> str:
    """The first paragraph: the verdict under the title."""
    return html.split("<p>", 1)[1].split("</p>", 1)[0]


def test_a_position_left_open_is_the_headline_not_an_all_clear(qtbot: QtBot) -> None:
    theme = ThemeState("dark")
    panel = EmergencyReportPanel(theme)
    qtbot.addWidget(panel)
    report = stop_report(open_positions=(ETH_LONG,))
    panel.show_report(report)
    text = panel.text()
    assert "Nothing is left open" not in text
    assert "Still open: 1 position (ETHUSDT long 0.2)." in text
    first = headline_of(report_html(report, theme))
    assert theme.hex(Tone.OK) not in first
    assert theme.hex(Tone.WARNING) in first


def test_lists_that_could_not_be_read_are_named_in_red(qtbot: QtBot) -> None:
    theme = ThemeState("dark")
    panel = EmergencyReportPanel(theme)
    qtbot.addWidget(panel)
    report = stop_report(open_orders=None, open_positions=None,
                         errors=("open orders could not be read: timeout",))
    panel.show_report(report)
    text = panel.text()
    assert "Could not verify orders or positions; 1 step failed (see the errors)." in text
    assert "the venue's positions could not be read" in text
    assert theme.hex(Tone.CRITICAL) in headline_of(report_html(report, theme))


def test_only_a_verified_empty_venue_is_green(qtbot: QtBot) -> None:
    theme = ThemeState("light")
    html = report_html(stop_report(), theme)
    first = headline_of(html)
    assert "Nothing is left open: no order, no position." in first
    assert theme.hex(Tone.OK) in first
