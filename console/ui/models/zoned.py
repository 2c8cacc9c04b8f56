"""Tables that show times in the local clock: their time columns' headers name the zone.

A time shown without its zone is a guess for anyone comparing it with a venue's page or
a colleague's screen, so "Created" reads "Created (UTC+01:00)" (the offset of now, so a
change of daylight-saving time shows at once) and each cell's tooltip gives the local
time with its offset and the UTC time. The column titles themselves stay plain: they
name the columns in code, saved layouts and CSV exports.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TypeVar

from PySide6.QtCore import QObject, Qt

from console.ui.format import zone_label
from console.ui.models.base import Column, RecordTableModel
from console.ui.theme import ThemeState

R = TypeVar("R")
_DISPLAY = Qt.ItemDataRole.DisplayRole


class ZonedModel(RecordTableModel[R]):
    """A `RecordTableModel` whose columns titled in `time_columns` show local time."""

    def __init__(self, columns: Sequence[Column[R]], key: Callable[[R], str], *,
                 time_columns: Collection[str], theme: ThemeState | None = None,
                 flush_ms: int = 150, parent: QObject | None = None) -> None:
        super().__init__(columns, key, theme=theme, flush_ms=flush_ms, parent=parent)
        self.time_sections = frozenset(i for i, c in enumerate(self.columns)
                                       if c.title in time_columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = _DISPLAY) -> object:
        value = super().headerData(section, orientation, role)
        if orientation is Qt.Orientation.Horizontal and section in self.time_sections:
            if role == _DISPLAY:
                return f"{value} ({zone_label()})"
            if role == Qt.ItemDataRole.ToolTipRole:
                return (f"Local time ({zone_label()}); each cell's tooltip also gives "
                        "the UTC time")
        return value
