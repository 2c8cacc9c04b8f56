"""Asking the operator, without exec(): `Confirmer` is injectable so tests answer for the
operator (and record what was asked) and never reach a modal loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Protocol

from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

MAX_LISTED = 40


class Confirmer(Protocol):
    async def confirm(self, title: str, text: str, details: Sequence[str] = (), *,
                      accept: str = "Confirm", destructive: bool = True) -> bool:
        """True when the operator accepts. `details` lists every side effect."""
        ...


async def await_dialog(dialog: QDialog) -> int:
    """Open `dialog` (window-modal, non-blocking) and wait for its result code."""
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def done(code: int) -> None:
        if not future.done():
            future.set_result(code)

    dialog.finished.connect(done)
    dialog.open()
    try:
        return await future
    finally:
        dialog.finished.disconnect(done)


def details_html(text: str, details: Sequence[str]) -> str:
    items = "".join(f"<li>{escape(d)}</li>" for d in details[:MAX_LISTED])
    more = (f"<p>… and {len(details) - MAX_LISTED} more.</p>"
            if len(details) > MAX_LISTED else "")
    listing = f"<ul>{items}</ul>{more}" if details else ""
    return f"<p>{escape(text)}</p>{listing}"


class DialogConfirmer:
    """A QMessageBox opened with open(); Cancel is the default button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent
        self.current: QMessageBox | None = None

    async def confirm(self, title: str, text: str, details: Sequence[str] = (), *,
                      accept: str = "Confirm", destructive: bool = True) -> bool:
        box = QMessageBox(self.parent)
        box.setWindowTitle(title)
        box.setIcon(QMessageBox.Icon.Warning if destructive else QMessageBox.Icon.Question)
        box.setText(details_html(text, details))
        role = (QMessageBox.ButtonRole.DestructiveRole if destructive
                else QMessageBox.ButtonRole.AcceptRole)
        yes = box.addButton(accept, role)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        self.current = box
        try:
            await await_dialog(box)
            return box.clickedButton() is yes
        finally:
            self.current = None
            box.deleteLater()


@dataclass
class ScriptedConfirmer:
    """For tests and the self-test: answers from a script, records every question."""

    answers: list[bool] = field(default_factory=list)
    default: bool = True
    asked: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)

    async def confirm(self, title: str, text: str, details: Sequence[str] = (), *,
                      accept: str = "Confirm", destructive: bool = True) -> bool:
        self.asked.append((title, text, tuple(details)))
        return self.answers.pop(0) if self.answers else self.default
