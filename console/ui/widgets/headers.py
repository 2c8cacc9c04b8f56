"""Column widths that never cut a header: each section at least as wide as its title
("Waiting", "Created (UTC+01:00)"), its padding and the sort arrow.

Widths start from each column's own figure (`Column.width`) and from the layout the
operator saved; this only ever widens a section whose title would be clipped, so a
column the operator widened stays as it is.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView

HEADER_PADDING = 2 * 8 + 18
"""Left and right padding of a header section (the stylesheets use 6 px each) and room
for the sort indicator."""


def header_width(view: QTableView, section: int) -> int:
    """The width section `section`'s title needs."""
    header = view.horizontalHeader()
    model = view.model()
    title = str(model.headerData(section, Qt.Orientation.Horizontal,
                                 Qt.ItemDataRole.DisplayRole) or "")
    metrics = header.fontMetrics()
    bold = header.font()
    bold.setBold(True)
    return max(metrics.horizontalAdvance(title),
               type(metrics)(bold).horizontalAdvance(title)) + HEADER_PADDING


def fit_headers(view: QTableView) -> int:
    """Widen every section whose title would be cut; returns the total width of the
    visible sections (what the view needs to show every column without scrolling)."""
    header = view.horizontalHeader()
    total = 0
    for section in range(header.count()):
        if header.isSectionHidden(section):
            continue
        wanted = header_width(view, section)
        if header.sectionSize(section) < wanted:
            header.resizeSection(section, wanted)
        total += header.sectionSize(section)
    return total
