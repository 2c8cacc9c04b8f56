"""What the panels of one scope read: one account (its `ConsoleController`) or every open
account at once (`console.ui.all_accounts.AllAccountsView`).

The inbox, alerts and audit panels are built over a scope and never ask which kind it
is: the one-account scope is the account's controller as it always was; the all-accounts
scope offers the same tables with the rows of every account, each row tagged with its
account (`console.ui.account_records`), so that an action on a row reaches the right
engine.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import SignalInstance

from console.domain.reconciliation import RunRecord
from console.engine.alerts import AlertEngine
from console.ui.models.alerts import AlertsModel
from console.ui.models.audit import AuditModel
from console.ui.models.balances import BalancesModel
from console.ui.models.fills import FillsModel
from console.ui.models.inbox import InboxItem, InboxModel
from console.ui.models.orders import OrdersModel
from console.ui.models.positions import PositionsModel
from console.ui.models.runs import RunsModel


class ScopeView(Protocol):
    """The tables of a scope and the few reads the panels make besides them."""

    @property
    def inbox_changed(self) -> SignalInstance:
        ...

    @property
    def orders(self) -> OrdersModel:
        ...

    @property
    def positions(self) -> PositionsModel:
        ...

    @property
    def fills(self) -> FillsModel:
        ...

    @property
    def balances(self) -> BalancesModel:
        ...

    @property
    def inbox(self) -> InboxModel:
        ...

    @property
    def runs(self) -> RunsModel:
        ...

    @property
    def alerts_model(self) -> AlertsModel:
        ...

    @property
    def audit(self) -> AuditModel:
        ...

    @property
    def alerts(self) -> AlertEngine | None:
        """An alert engine when the scope has one."""
        ...

    @property
    def can_acknowledge(self) -> bool:
        """Alerts can be acknowledged (an alert engine here, or a remote account's lease
        holder on command); the panel disables acknowledging otherwise."""
        ...

    @property
    def read_only(self) -> bool:
        ...

    @property
    def pending(self) -> list[InboxItem]:
        ...

    @property
    def run_history(self) -> list[RunRecord]:
        ...

    def run_items(self, run_id: str | None) -> list[InboxItem]:
        ...

    def set_show_cleared(self, show: bool) -> None:
        ...

    def refresh_soon(self, *what: str, delay_ms: int = 300) -> None:
        ...
