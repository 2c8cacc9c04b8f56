"""Qt-side assembly: the QApplication, the qasync loop, and a window over given parts.

`console.bootstrap_gui` decides *what* the window runs on (the embedded sim or a
profile's venue) and hands over a `ConsoleParts`; this module only knows Qt and the
engine. Loop rules (docs/architecture.md, "Qt and the event loop"): start with
`asyncio.Runner(loop_factory=qasync.QEventLoop)` (Python 3.11 has no loop_factory in
asyncio.run), close the loop before the QApplication goes, and never run a modal exec()
inside a coroutine.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from console.engine.alerts import AlertEngine
from console.engine.demo import ChaosPort, DemoQuoter
from console.engine.ports import LedgerPort
from console.engine.session import EngineSession
from console.ui.controller import ConsoleController, wall_ms
from console.ui.dialogs.confirm import Confirmer, DialogConfirmer
from console.ui.main_window import MainWindow
from console.ui.notifications import Notifier
from console.ui.ports import CredentialsPort, Identity, ProfilesPort
from console.ui.settings import UiSettings
from console.ui.theme import ThemeState

log = logging.getLogger(__name__)


@dataclass
class ConsoleParts:
    """Everything the window runs on, built by the composition root."""

    session: EngineSession
    book: LedgerPort
    identity: Identity
    alerts: AlertEngine | None = None
    chaos: ChaosPort | None = None
    demo: DemoQuoter | None = None
    credentials: CredentialsPort | None = None
    profiles: ProfilesPort | None = None
    versions: str = ""
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    """Run after the engine stopped, in order (stop the sim's market, close the ledger)."""

    async def aclose(self) -> None:
        for close in self.closers:
            try:
                await close()
            except Exception:
                # shutdown goes on: each resource is released even if one fails
                log.exception("console: shutdown step failed")


def quiet_qasync_logging() -> None:
    """qasync logs every executor callback with its arguments at DEBUG: never let that
    reach a log (`-vv` turns DEBUG on for every logger), whatever the callbacks carry."""
    logging.getLogger("qasync").setLevel(logging.INFO)


def ensure_app(argv: list[str] | None = None) -> QApplication:
    quiet_qasync_logging()
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    QCoreApplication.setOrganizationName("recon-console")
    QCoreApplication.setApplicationName("Recon Console")
    return QApplication(argv if argv is not None else sys.argv[:1])


@dataclass
class Console:
    controller: ConsoleController
    window: MainWindow
    theme: ThemeState
    notifier: Notifier
    parts: ConsoleParts


def create_console(parts: ConsoleParts, *, settings: UiSettings,
                   confirmer: Confirmer | None = None, notifier: Notifier | None = None,
                   clock_ms: Callable[[], int] = wall_ms, flush_ms: int = 150,
                   theme: str | None = None) -> Console:
    """The controller and the window over `parts` (not shown, engine not started)."""
    state = ThemeState(theme or settings.theme)
    state.apply(state.name)
    notifier = notifier or Notifier(sound=settings.sound_on_critical)
    confirmer = confirmer or DialogConfirmer()
    controller = ConsoleController(
        parts.session, parts.book, parts.identity, confirmer=confirmer, notifier=notifier,
        theme=state, operator=lambda: settings.operator, alerts=parts.alerts,
        chaos=parts.chaos, demo=parts.demo, clock_ms=clock_ms, flush_ms=flush_ms)
    window = MainWindow(controller, settings=settings, theme=state, notifier=notifier,
                        credentials=parts.credentials, profiles=parts.profiles,
                        versions=parts.versions)
    if isinstance(confirmer, DialogConfirmer) and confirmer.parent is None:
        confirmer.parent = window
    return Console(controller, window, state, notifier, parts)


async def run_console(console: Console) -> int:
    """Show the window, start the engine, run until the window closes, shut down."""
    window, controller = console.window, console.controller
    app = QApplication.instance()
    if isinstance(app, QApplication):
        # the window's close ends the run (below), after an orderly shutdown: a quit on
        # the last window would stop the loop in the middle of it
        app.setQuitOnLastWindowClosed(False)
    closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_closed() -> None:
        if not closed.done():
            closed.set_result(None)

    window.closed.connect(on_closed)
    window.show()
    window.run(controller.start(), "start")
    try:
        await closed
    finally:
        await window.tasks.cancel_all()
        await controller.aclose()
        await console.parts.aclose()
    return 0
