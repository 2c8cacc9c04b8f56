"""Coroutines started from Qt slots, tracked so that nothing runs unobserved.

A slot cannot await; it hands a coroutine to `TaskRunner.spawn`, which runs it on the
qasync loop, reports a failure once (an operator-facing message for `UserFacingError`,
the traceback in the log for anything else) and lets tests and shutdown wait until every
task has finished (`idle()`), instead of sleeping and hoping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from console.errors import UserFacingError

log = logging.getLogger(__name__)

T = TypeVar("T")


class TaskRunner(QObject):
    failed = Signal(str, str)
    """(task name, message for the operator)"""
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.errors: list[tuple[str, str]] = []

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def names(self) -> list[str]:
        return sorted(t.get_name() for t in self._tasks)

    def running(self, name: str) -> bool:
        return any(t.get_name() == name for t in self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        was_busy = self.busy
        self._tasks.add(task)
        task.add_done_callback(self._done)
        if not was_busy:
            self.busy_changed.emit(True)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            exc = task.exception()
            if exc is not None:
                if isinstance(exc, UserFacingError):
                    message = str(exc)
                    log.warning("%s: %s", task.get_name(), message)
                else:
                    message = f"internal error: {type(exc).__name__}: {exc}"
                    log.error("%s failed", task.get_name(), exc_info=exc)
                self.errors.append((task.get_name(), message))
                self.failed.emit(task.get_name(), message)
        if not self.busy:
            self.busy_changed.emit(False)

    async def idle(self, timeout_s: float = 30.0) -> None:
        """Wait until every task (including ones spawned meanwhile) has finished."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._tasks:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"tasks still running after {timeout_s:g} s: "
                                   f"{', '.join(self.names())}")
            await asyncio.wait(set(self._tasks), timeout=remaining)

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
