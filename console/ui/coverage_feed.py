"""Keeps the "Coverage and budgets" dock and each account's status-bar hover current.

A coverage report (`console.engine.coverage`) costs two ledger reads in worker threads
(the run headers, the coverage mark) and the venue port's memory of its budgets: cheap,
but not free, so it is computed when it can have changed or is looked at: after each
reconciliation of an account (any trigger), every few seconds while the dock is shown,
and when the dock is shown or another account is selected. One read per account at a
time; a report goes to that account's status bar (hover on "Last OK reconcile") and, for
the account in focus, to the dock's panel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from console.engine.coverage import CoverageReport
from console.errors import UserFacingError
from console.ui.controller import ConsoleController
from console.ui.widgets.coverage import CoveragePanel
from console.ui.workspace import Workspace

log = logging.getLogger(__name__)

REFRESH_MS = 5000
"""While the dock is shown, the focus account's report is this fresh at worst."""

Spawn = Callable[[Coroutine[Any, Any, object], str], object]
ShowStatus = Callable[[str, CoverageReport], None]


class CoverageFeed(QObject):
    refreshed = Signal(object)
    """A `CoverageReport` (any account's)."""

    def __init__(self, workspace: Workspace, panel: CoveragePanel, *,
                 shown: Callable[[], bool], spawn: Spawn, to_status: ShowStatus,
                 interval_ms: int = REFRESH_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.panel = panel
        self.shown = shown
        self.spawn = spawn
        self.to_status = to_status
        self.reports: dict[str, CoverageReport] = {}
        self._reading: set[str] = set()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def watch(self, controller: ConsoleController) -> None:
        """Refresh an account's report after each of its runs."""
        controller.run_finished.connect(self._run_finished)
        controller.engine_started.connect(self._run_finished)

    @Slot()
    def _run_finished(self, *_args: object) -> None:
        sender = self.sender()
        if isinstance(sender, ConsoleController):
            self.refresh(sender)

    def tick(self) -> None:
        if self.shown():
            self.refresh_focus()

    def refresh_focus(self) -> None:
        """The account in focus: its report now (the last one at once, if any)."""
        try:
            focus = self.workspace.focus
        except UserFacingError:  # no account open
            return
        known = self.reports.get(focus.label)
        if known is not None:
            self.panel.show_report(known)
        self.refresh(focus)

    def refresh(self, controller: ConsoleController) -> None:
        label = controller.label
        if label in self._reading or controller.closing:
            return
        self._reading.add(label)
        self.spawn(self._read(controller), "coverage")

    async def _read(self, controller: ConsoleController) -> None:
        label = controller.label
        try:
            report = await controller.coverage()
        except UserFacingError as exc:  # the account is closing
            log.info("coverage of %s: %s", label, exc)
            return
        finally:
            self._reading.discard(label)
        if label not in self.workspace.labels():
            return
        self.reports[label] = report
        self.to_status(label, report)
        if self._is_focus(label):
            self.panel.show_report(report)
        self.refreshed.emit(report)

    def _is_focus(self, label: str) -> bool:
        try:
            return self.workspace.focus.label == label
        except UserFacingError:
            return False

    def forget(self, label: str) -> None:
        self.reports.pop(label, None)

    def stop(self) -> None:
        self.timer.stop()
