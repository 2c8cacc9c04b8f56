"""GUI tests: the real window over the real engine, the real sim and a real SQLite ledger.

Offscreen Qt, one qasync loop per test (docs/architecture.md, *Qt and the event loop*),
never qtbot.wait inside a coroutine. Coroutines are driven by `drive()`, not by qasync's
`run_until_complete`: that one processes Qt events once more *after* it has unset the
running loop, so a background task (the engine's stream pump, its reconcile loop, a
refresh) that steps then dies with "no running event loop". For the same reason the loop
stays registered as running between drives: pytest-qt processes events after each test
phase, and the engine's tasks must be able to step then as they do in the app, where the
loop always runs. QSettings point at a temporary directory, so no test reads or writes
the user's settings. Operator answers to confirmations come from a `ScriptedConfirmer`
that records what it was asked.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
import gc
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import qasync
import shiboken6
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from console.bootstrap_gui import DemoSession, build_demo_session, demo_parts
from console.domain import Order
from console.sim import SimExchange
from console.ui.app import Console, create_console, quiet_qasync_logging
from console.ui.dialogs.confirm import ScriptedConfirmer
from console.ui.settings import UiSettings

T = TypeVar("T")
SCREENSHOTS = Path(os.environ.get("RECON_SCREENSHOTS_DIR") or
                   Path(__file__).resolve().parents[2] / "build" / "screenshots")
"""Where the GUI tests save screenshots: build/screenshots (ignored by git), so a test run
never rewrites tracked files. `bash docs/refresh-screenshots.sh` points this at
docs/screenshots to refresh the committed ones."""


@pytest.fixture(scope="session", autouse=True)
def _qasync_logging_as_in_the_app() -> None:
    """The app keeps qasync's DEBUG lines (every executor callback, formatted in its worker
    threads) out of its logs; so do the tests, whose root logger is at DEBUG."""
    quiet_qasync_logging()


@pytest.fixture(scope="session", autouse=True)
def _settings_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every QSettings (even a default-constructed one) lands in a temporary directory."""
    where = str(tmp_path_factory.mktemp("qsettings"))
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, where)
        QSettings.setPath(fmt, QSettings.Scope.SystemScope, where)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)


def drive(loop: qasync.QEventLoop, awaitable: Awaitable[T], timeout: float = 30.0) -> T:
    """Run the Qt/asyncio loop until `awaitable` is done (see the module docstring)."""
    future = asyncio.ensure_future(asyncio.wait_for(awaitable, timeout), loop=loop)
    future.add_done_callback(lambda _f: loop.stop())
    loop.run_forever()
    asyncio.events._set_running_loop(loop)
    if not future.done():
        raise RuntimeError("the loop stopped before the awaited work was done")
    return future.result()


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    qapp.setQuitOnLastWindowClosed(False)
    event_loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(event_loop)
    asyncio.events._set_running_loop(event_loop)
    try:
        yield event_loop
    finally:
        asyncio.events._set_running_loop(None)
        event_loop.close()
        asyncio.set_event_loop(None)
        # qasync's close only marks its timer object stopped: the timers of handles still
        # pending (a periodic run's call_later) stay registered with this thread's
        # dispatcher. Garbage-collected later in a worker thread (a ledger read), the
        # object could not unregister them there, and the next tick of one crashed the
        # process in whatever test ran then. So its timers are killed here, on the GUI
        # thread, and the object is kept for the session: a thread's late call_soon on
        # the closed loop still finds it (its timer fires once, stopped, and is killed).
        _retire_timer(event_loop)
        # Free the closed loop's Qt objects (its timer object, executor threads) and the
        # test's windows here, on the GUI thread. Left to a later garbage collection, they
        # may be freed in a worker thread (a ledger read), where deleting a QObject whose
        # timers the GUI thread still holds crashes the process at the next timer tick.
        gc.collect()


_RETIRED_TIMERS: list[object] = []
"""The closed loops' timer objects (see `loop`), never freed outside the GUI thread."""


def _retire_timer(event_loop: qasync.QEventLoop) -> None:
    timer = getattr(event_loop, "_timer", None)
    if timer is None or not shiboken6.isValid(timer):
        return
    pending: dict[int, object] = getattr(timer, "_SimpleTimer__callbacks", {})
    for timer_id in list(pending):
        timer.killTimer(timer_id)
    pending.clear()
    _RETIRED_TIMERS.append(timer)


@pytest.fixture
def settings(tmp_path: Path) -> UiSettings:
    return UiSettings(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))


@dataclass
class Harness:
    """One console on the sim: `run(coro)` drives the loop until the coroutine is done."""

    loop: qasync.QEventLoop
    session: DemoSession
    console: Console
    confirmer: ScriptedConfirmer
    closed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def window(self) -> Any:
        return self.console.window

    @property
    def controller(self) -> Any:
        return self.console.controller

    @property
    def exchange(self) -> SimExchange:
        return self.session.exchange

    def run(self, coro: Awaitable[T], timeout: float = 30.0) -> T:
        return drive(self.loop, coro, timeout)

    def idle(self) -> None:
        """Every task the window started has finished, and the models are flushed."""
        self.run(self.window.tasks.idle())
        self.run(self.controller.settle())

    def pump(self, seconds: float = 0.05) -> None:
        self.run(asyncio.sleep(seconds))

    def sim_open(self) -> list[Order]:
        return self.exchange.open_orders("main")

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.window.close()
        self.run(self.window.tasks.cancel_all())
        self.run(self.controller.aclose())
        self.run(self.session.aclose())
        self.window.deleteLater()


MakeConsole = Callable[..., Harness]


@pytest.fixture
def make_console(loop: qasync.QEventLoop, tmp_path: Path,
                 settings: UiSettings) -> Iterator[MakeConsole]:
    made: list[Harness] = []

    def make(scenario: str = "clean", *, demo: bool = False, read_only: bool = False,
             start: bool = True, answers: list[bool] | None = None,
             latency_ms: tuple[float, float] = (0.0, 0.0), theme: str = "dark",
             credentials: Any = None, profiles: Any = None,
             ui_settings: UiSettings | None = None) -> Harness:
        db = f"sqlite:///{tmp_path / f'ledger-{len(made)}.db'}"
        session = build_demo_session(db, scenario, demo=demo, read_only=read_only,
                                     latency_ms=latency_ms)
        confirmer = ScriptedConfirmer(answers=list(answers or []))
        console = create_console(demo_parts(session, credentials=credentials,
                                            profiles=profiles),
                                 settings=ui_settings or settings, confirmer=confirmer,
                                 flush_ms=20, theme=theme)
        console.window.show_error_dialogs = False
        console.window.show()
        harness = Harness(loop, session, console, confirmer)
        made.append(harness)
        if start:
            harness.run(console.controller.start())
            harness.idle()
        return harness

    yield make
    for harness in made:
        harness.close()
