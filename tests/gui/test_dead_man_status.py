"""The status bar shows the venue's dead-man's switch: how long it is armed for and when it
was last refreshed, a failed refresh in amber with the countdown left, a countdown that
ran out in red; nothing at all for a venue without one (or with it left off).

The window runs on the sim, whose venue has no switch; for an armed one the venue port's
`dead_man_state()` is made to answer what a connector with a switch reports (the Binance
connector's own reports are tested against the simulated front-end in
tests/venues/test_binance_dead_man.py). The status bar reads it on its one-second tick.
"""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

from console.domain.capabilities import DeadManState
from console.ui.theme import Tone

from .conftest import SCREENSHOTS, Harness, MakeConsole
from .shown_texts import assert_no_canary_shown


def _report(monkeypatch: pytest.MonkeyPatch, h: Harness, state: DeadManState | None) -> None:
    monkeypatch.setattr(h.controller.session.venue, "dead_man_state", lambda: state)


def _now(h: Harness) -> int:
    now: int = h.window.status.clock_ms()
    return now


def test_a_venue_without_a_switch_shows_nothing(make_console: MakeConsole) -> None:
    h = make_console("clean")
    venue = h.controller.session.venue
    assert not venue.capabilities.dead_man_switch and venue.dead_man_state() is None
    h.window.status.update()
    label = h.window.status.dead_man
    assert label.isHidden() and label.text() == "" and label.toolTip() == ""
    _save_status(h, "status-dead-man-none.png")


def test_an_armed_switch_is_shown_and_followed_on_the_status_tick(
        make_console: MakeConsole, monkeypatch: pytest.MonkeyPatch) -> None:
    h = make_console("clean")
    status = h.window.status
    label = status.dead_man
    assert label.isHidden()
    armed = DeadManState(armed=True, timeout_ms=120_000, refreshed_at=_now(h) - 12_000,
                         symbols=2)
    _report(monkeypatch, h, armed)
    h.pump(1.2)  # the once-a-second refresh picks it up: nothing calls update() here
    assert label.isVisible()
    assert "Dead-man: " in label.text()
    assert "armed 120 s, refreshed 12 s ago" in label.text() \
        or "armed 120 s, refreshed 13 s ago" in label.text()
    assert h.window.theme.hex(Tone.OK) in label.text()
    assert "2 symbols" in label.toolTip() and "cancels the open orders" in label.toolTip()
    _save_status(h, "status-dead-man-armed.png")

    now = _now(h)
    failing = DeadManState(armed=True, timeout_ms=120_000, refreshed_at=now - 60_000,
                           symbols=2, last_error="UnknownOutcomeError http_503")
    _report(monkeypatch, h, failing)
    status.update()
    text = label.text()
    assert "refresh failed (UnknownOutcomeError http_503), fires in" in text
    left = int(text.split("fires in ")[1].split(" s")[0])
    assert 58 <= left <= 60
    assert h.window.theme.hex(Tone.WARNING) in text
    _save_status(h, "status-dead-man-failing.png")

    ran_out = DeadManState(armed=True, timeout_ms=120_000, refreshed_at=now - 121_000,
                           symbols=2, last_error="UnknownOutcomeError http_503")
    _report(monkeypatch, h, ran_out)
    status.update()
    assert "ran out (UnknownOutcomeError http_503): the venue cancels the orders" \
        in label.text()
    assert h.window.theme.hex(Tone.CRITICAL) in label.text()

    _report(monkeypatch, h, DeadManState(armed=False, refreshed_at=now))
    status.update()
    assert label.isVisible() and "disarmed" in label.text()
    assert h.window.theme.hex(Tone.MUTED) in label.text()

    _report(monkeypatch, h, DeadManState(armed=False, last_error="VenueAuthError -2015"))
    status.update()
    assert "not armed (VenueAuthError -2015)" in label.text()
    assert h.window.theme.hex(Tone.WARNING) in label.text()

    _report(monkeypatch, h, None)
    status.update()
    assert label.isHidden() and label.text() == ""


def test_an_error_text_is_shown_as_text_not_markup(
        make_console: MakeConsole, monkeypatch: pytest.MonkeyPatch) -> None:
    h = make_console("clean")
    state = DeadManState(armed=True, timeout_ms=60_000, refreshed_at=_now(h),
                         last_error="<b>Bold</b> & co")
    _report(monkeypatch, h, state)
    h.window.status.update()
    text = h.window.status.dead_man.text()
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in text and "<b>" not in text


def _save_status(h: Harness, name: str) -> None:
    h.pump(0.05)  # the status bar lays the new text out on the loop's next turn
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert_no_canary_shown(h.window)
    image: QImage = h.window.statusBar().grab().toImage()
    assert not image.isNull()
    assert image.save(str(SCREENSHOTS / name))
