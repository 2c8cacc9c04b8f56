"""Amend the selected order: a new price and/or quantity (the new total, fills included).
The engine amends in place when it may, else cancels (confirmed) and re-creates."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from console.domain import Order, OrderType
from console.ui.dialogs.confirm import await_dialog
from console.ui.format import fmt_decimal


def parse_positive(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{name}: {text.strip()!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{name} must be greater than zero")
    return value


class AmendDialog(QDialog):
    def __init__(self, order: Order, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.order = order
        self.setWindowTitle(f"Amend {order.symbol} {order.side.value}")
        self.result_value: tuple[Decimal | None, Decimal | None] | None = None
        info = QLabel(
            f"{escape(order.symbol)} {order.side.value} {fmt_decimal(order.qty)} @ "
            f"{fmt_decimal(order.price)} — {order.status.value}, filled "
            f"{fmt_decimal(order.filled_qty)}"
            f"<br>{escape(order.client_order_id or order.venue_order_id)}",
            self)
        self.price = QLineEdit(fmt_decimal(order.price) if order.price is not None else "", self)
        self.price.setEnabled(order.type is OrderType.LIMIT)
        self.qty = QLineEdit(fmt_decimal(order.qty), self)
        self.qty.setToolTip("The new total quantity, fills included")
        self.error = QLabel(self)
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # venue/exception text
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Price", self.price)
        form.addRow("Quantity (total)", self.qty)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, parent=self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Amend")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(info)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def values(self) -> tuple[Decimal | None, Decimal | None]:
        """(price, qty), each None when unchanged; raises ValueError when invalid."""
        price: Decimal | None = None
        if self.price.isEnabled() and self.price.text().strip():
            price = parse_positive(self.price.text(), "Price")
            if price == self.order.price:
                price = None
        qty = parse_positive(self.qty.text(), "Quantity")
        if qty <= self.order.filled_qty:
            raise ValueError(f"Quantity must be above the {fmt_decimal(self.order.filled_qty)} "
                             "already filled")
        return price, (None if qty == self.order.qty else qty)

    def accept(self) -> None:
        try:
            self.result_value = self.values()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        super().accept()


async def ask_amend(order: Order, parent: QWidget | None = None,
                    opened: list[AmendDialog] | None = None,
                    ) -> tuple[Decimal | None, Decimal | None] | None:
    """Open the dialog (no exec) and wait; None when cancelled. `opened` receives the
    dialog, so a test can fill it in as an operator would."""
    dialog = AmendDialog(order, parent)
    if opened is not None:
        opened.append(dialog)
    try:
        code = await await_dialog(dialog)
        return dialog.result_value if code == QDialog.DialogCode.Accepted else None
    finally:
        dialog.deleteLater()
