"""The screenshot check of the secrets canary finds the canary wherever a widget tree could
paint it, and does not flag what is not shown (a password field's text)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from canary import CANARY_KEY, CANARY_SECRET
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QGraphicsScene,
    QGraphicsView,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QTableView,
    QTreeView,
    QVBoxLayout,
    QWidget,
)
from pytestqt.qtbot import QtBot

from .shown_texts import assert_no_canary_shown, canary_shown


@pytest.fixture
def bare_window(qtbot: QtBot) -> tuple[QMainWindow, QVBoxLayout]:
    """A window with one harmless label; closed and deleted by qtbot at teardown, not
    whenever the garbage collector gets to it (that could be inside a later test's loop)."""
    main = QMainWindow()
    qtbot.addWidget(main)
    body = QWidget(main)
    layout = QVBoxLayout(body)
    layout.addWidget(QLabel("Profile demo: a key is stored", body))
    main.setCentralWidget(body)
    return main, layout


def test_a_clean_window_shows_no_canary(
        bare_window: tuple[QMainWindow, QVBoxLayout]) -> None:
    window, layout = bare_window
    secret = QLineEdit(window)
    secret.setEchoMode(QLineEdit.EchoMode.Password)
    secret.setText(CANARY_SECRET)  # held by the field, painted as bullets
    layout.addWidget(secret)
    assert canary_shown(window) == []
    assert_no_canary_shown(window)


def _label(layout: QVBoxLayout) -> None:
    layout.addWidget(QLabel(f"key {CANARY_KEY}"))


def _typed(layout: QVBoxLayout) -> None:
    layout.addWidget(QLineEdit(CANARY_SECRET))


def _tooltip(layout: QVBoxLayout) -> None:
    label = QLabel("hover me")
    label.setToolTip(f"signed with {CANARY_SECRET}")
    layout.addWidget(label)


def _group_title(layout: QVBoxLayout) -> None:
    layout.addWidget(QGroupBox(base64.b64encode(CANARY_SECRET.encode()).decode()))


def _table_cell(layout: QVBoxLayout) -> None:
    view = QTableView()
    model = QStandardItemModel(2, 2, view)  # owned by the view, as the window's models are
    model.setItem(1, 1, QStandardItem(CANARY_SECRET.encode().hex()))
    view.setModel(model)
    layout.addWidget(view)


def _tree_child(layout: QVBoxLayout) -> None:
    view = QTreeView()
    model = QStandardItemModel(view)
    parent = QStandardItem("run 7")
    parent.appendRow(QStandardItem(f"error: bad key {CANARY_KEY}"))
    model.appendRow(parent)
    view.setModel(model)
    layout.addWidget(view)


def _scene_text(layout: QVBoxLayout) -> None:
    view = QGraphicsView()
    scene = QGraphicsScene(view)  # owned by the view, alive as long as the window
    scene.addText(f"label {CANARY_SECRET}")
    view.setScene(scene)
    layout.addWidget(view)


@pytest.mark.parametrize(("plant", "form"), [
    (_label, "canary key"), (_typed, "canary secret"), (_tooltip, "canary secret"),
    (_group_title, "canary secret as base64 (offset 0)"), (_table_cell, "canary secret as hex"),
    (_tree_child, "canary key"), (_scene_text, "canary secret"),
])
def test_the_canary_is_found_wherever_it_is_painted(
        bare_window: tuple[QMainWindow, QVBoxLayout], plant: Callable[[QVBoxLayout], None],
        form: str) -> None:
    window, layout = bare_window
    plant(layout)
    assert canary_shown(window) == [form]
    with pytest.raises(AssertionError, match="would show the"):
        assert_no_canary_shown(window)
