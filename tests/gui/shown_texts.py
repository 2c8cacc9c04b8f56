"""What a screenshot of a widget tree can show, as text: the secrets canary's check for
screenshots (a PNG cannot be searched for a string; the texts it was painted from can).

`assert_no_canary_shown(root)` is called at screenshot time; it searches every string the
tree can paint (labels, fields as displayed, buttons, titles, tooltips, menus, tab and
group titles, rich and plain text, status messages, every item and header of every view,
text items of graphics scenes) for the canary key and secret in any encoded form.
"""

from __future__ import annotations

from collections.abc import Iterator

from canary import find_in_text
from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QGraphicsSimpleTextItem,
    QGraphicsTextItem,
    QGraphicsView,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
    QWidget,
)

_ROLES = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)


def _model_texts(model: QAbstractItemModel, parent: QModelIndex) -> Iterator[str]:
    for row in range(model.rowCount(parent)):
        for column in range(model.columnCount(parent)):
            index = model.index(row, column, parent)
            for role in _ROLES:
                yield str(index.data(role) or "")
            if column == 0 and model.rowCount(index) > 0:  # a tree's children
                yield from _model_texts(model, index)


def _headers(model: QAbstractItemModel) -> Iterator[str]:
    for orientation, count in ((Qt.Orientation.Horizontal, model.columnCount()),
                               (Qt.Orientation.Vertical, model.rowCount())):
        for section in range(count):
            yield str(model.headerData(section, orientation) or "")


def _own_texts(w: QWidget) -> Iterator[str]:
    yield from (w.windowTitle(), w.toolTip(), w.statusTip(), w.accessibleName())
    yield from (action.text() for action in w.actions())
    if isinstance(w, QLabel | QAbstractButton):
        yield w.text()
    elif isinstance(w, QLineEdit):  # as displayed: a password field shows only bullets
        yield from (w.displayText(), w.placeholderText())
    elif isinstance(w, QComboBox):
        yield from (w.currentText(), *(w.itemText(i) for i in range(w.count())))
    elif isinstance(w, QTextEdit | QPlainTextEdit):
        yield w.toPlainText()
    elif isinstance(w, QGroupBox):
        yield w.title()
    elif isinstance(w, QTabBar):
        yield from (w.tabText(i) for i in range(w.count()))
    elif isinstance(w, QAbstractItemView) and w.model() is not None:
        yield from _model_texts(w.model(), QModelIndex())
        yield from _headers(w.model())
    elif isinstance(w, QGraphicsView) and w.scene() is not None:
        for item in w.scene().items():
            if isinstance(item, QGraphicsTextItem):
                yield item.toPlainText()
            elif isinstance(item, QGraphicsSimpleTextItem):
                yield item.text()
    if isinstance(w, QMainWindow):
        yield w.statusBar().currentMessage()


def shown_texts(root: QWidget) -> list[str]:
    """Every string `root` and its descendants can paint."""
    return [text for w in (root, *root.findChildren(QWidget)) for text in _own_texts(w)]


def canary_shown(root: QWidget) -> list[str]:
    """The forms of the canary key or secret that a screenshot of `root` could show."""
    return sorted({form for text in shown_texts(root) for form in find_in_text(text)})


def assert_no_canary_shown(root: QWidget) -> None:
    found = canary_shown(root)
    assert not found, f"a screenshot of {root.objectName() or type(root).__name__} " \
                      f"would show the {', '.join(found)}"
