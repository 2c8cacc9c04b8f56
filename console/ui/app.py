"""Qt-side assembly: the QApplication, the qasync loop, and a window over given parts.

`console.bootstrap_gui` decides *what* the window runs on (the embedded sim or
profiles' venues) and hands over one `ConsoleParts` per account (`create_console` for
one, `create_workspace_console` for several, and a `SessionsPort` to open more while
the window runs); this module only knows Qt and the engine. Loop rules
(docs/architecture.md, "Qt and the event loop"): start with
`asyncio.Runner(loop_factory=qasync.QEventLoop)` (Python 3.11 has no loop_factory in
asyncio.run), close the loop before the QApplication goes, and never run a modal exec()
inside a coroutine.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from console.errors import UserFacingError
from console.ui.assets import app_icon
from console.ui.controller import ConsoleController, wall_ms
from console.ui.dialogs.confirm import Confirmer, DialogConfirmer
from console.ui.gc_policy import GuiThreadCollector
from console.ui.main_window import MainWindow
from console.ui.models.base import freeze_startup
from console.ui.notifications import Notifier
from console.ui.parts import ConsoleParts
from console.ui.ports import SessionsPort
from console.ui.settings import UiSettings
from console.ui.theme import ThemeState
from console.ui.workspace import Workspace

__all__ = ["Console", "ConsoleParts", "create_console", "create_workspace_console",
           "ensure_app", "quiet_qasync_logging", "run_console"]

log = logging.getLogger(__name__)


def quiet_qasync_logging() -> None:
    """qasync logs every executor callback with its arguments at DEBUG: never let that
    reach a log (`-vv` turns DEBUG on for every logger), whatever the callbacks carry."""
    logging.getLogger("qasync").setLevel(logging.INFO)


def ensure_app(argv: list[str] | None = None) -> QApplication:
    quiet_qasync_logging()
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        QCoreApplication.setOrganizationName("recon-console")
        QCoreApplication.setApplicationName("Recon Console")
        # resources/recon-console.desktop: Wayland shows that entry's name and icon
        QApplication.setDesktopFileName("recon-console")
        app = QApplication(argv if argv is not None else sys.argv[:1])
    if app.windowIcon().isNull():  # a host that set its own icon keeps it
        app.setWindowIcon(app_icon())  # title bars, task switcher, dock: resources/icons/
    return app


@dataclass
class Console:
    """The window, its accounts and what they share. `controller` and `parts` are the
    first account's (the only one, for a window over one `ConsoleParts`)."""

    controller: ConsoleController
    window: MainWindow
    theme: ThemeState
    notifier: Notifier
    parts: ConsoleParts
    workspace: Workspace


def create_console(parts: ConsoleParts, *, settings: UiSettings,
                   confirmer: Confirmer | None = None, notifier: Notifier | None = None,
                   clock_ms: Callable[[], int] = wall_ms, flush_ms: int = 150,
                   theme: str | None = None, sessions: SessionsPort | None = None) -> Console:
    """The controller and the window over one account's `parts` (not shown, engine not
    started)."""
    return create_workspace_console([parts], settings=settings, confirmer=confirmer,
                                    notifier=notifier, clock_ms=clock_ms, flush_ms=flush_ms,
                                    theme=theme, sessions=sessions)


def create_workspace_console(accounts: Sequence[ConsoleParts], *, settings: UiSettings,
                             confirmer: Confirmer | None = None,
                             notifier: Notifier | None = None,
                             clock_ms: Callable[[], int] = wall_ms, flush_ms: int = 150,
                             theme: str | None = None,
                             sessions: SessionsPort | None = None) -> Console:
    """One window over several accounts, each its own engine session on the one loop
    (not shown, engines not started). The credentials, profiles and versions shown are
    the first account's; `sessions` opens more accounts while the window runs."""
    if not accounts:
        raise UserFacingError("the window needs at least one account")
    state = ThemeState(theme or settings.theme)
    state.apply(state.name)
    notifier = notifier or Notifier(sound=settings.sound_on_critical)
    confirmer = confirmer or DialogConfirmer()
    workspace = Workspace(theme=state, confirmer=confirmer, notifier=notifier,
                          operator=lambda: settings.operator, clock_ms=clock_ms,
                          flush_ms=flush_ms, sessions=sessions)
    controllers = [workspace.add(parts) for parts in accounts]
    first = accounts[0]
    profiles = next((p.profiles for p in accounts if p.profiles is not None), None)
    credentials = next((p.credentials for p in accounts if p.credentials is not None), None)
    window = MainWindow(workspace, settings=settings, theme=state, notifier=notifier,
                        credentials=credentials, profiles=profiles, versions=first.versions)
    # Owned by the window, the accounts' Qt objects go with it, on the GUI thread. Left to
    # Python, a garbage collection in a worker thread could delete them (and their
    # timers) there, which Qt does not survive.
    workspace.setParent(window)
    if isinstance(confirmer, DialogConfirmer) and confirmer.parent is None:
        confirmer.parent = window
    return Console(controllers[0], window, state, notifier, first, workspace)


async def run_console(console: Console) -> int:
    """Show the window, start every account's engine, run until the window closes, shut
    every account down."""
    window, workspace = console.window, console.workspace
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
    freeze_startup()  # the program's own objects, before any read (models.base)
    collector = GuiThreadCollector()  # no collection in a worker thread (gc_policy)
    collector.start()
    workspace.prefetch()  # the tables' first reads, while the window paints
    window.show()
    window.run(workspace.start_all(), "start")
    try:
        await closed
    finally:
        await window.tasks.cancel_all()
        await workspace.aclose()
        collector.stop()
    return 0
