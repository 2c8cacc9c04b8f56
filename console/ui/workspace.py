"""Every account open in the window: one `ConsoleController` (its own engine session)
per account, all on the one qasync loop, and what spans them: which account the tables
show (the scope), opening and closing an account while the window runs, and the
emergency stop of every account at once (`console.ui.global_stop`).

An account is named by its profile ("embedded sim" for the simulated exchange): the
label the accounts bar, the Account column and the reports use. Opening one builds its
session off the GUI path (`SessionsPort.open`, in a worker thread), then starts it like
the first one. Closing one stops its engine and releases its connector and ledger;
whatever it holds on the venue stays there, so the operator is asked first and told what.

A remote account (an engine elsewhere trades it, the window reads the shared ledger and
sends commands: `console.ui.remote`) is opened by attaching to a fleet ledger
(`attach_fleet`, through the composition root's `FleetPort`); it is closed like any other,
and closing it stops nothing but the window's reading.

Nothing here draws: the window (`console.ui.main_window`) follows the signals.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from console.domain import Position
from console.errors import UserFacingError
from console.ui.account_records import account_of
from console.ui.all_accounts import AllAccountsView
from console.ui.controller import ConsoleController, wall_ms
from console.ui.dialogs.confirm import Confirmer
from console.ui.format import fmt_decimal, plural
from console.ui.global_stop import (
    GlobalReport,
    StopTarget,
    halt_entry,
    halt_everything,
    halt_remote,
    record,
    stop_all,
    stop_strategies,
)
from console.ui.models.orders import order_line
from console.ui.notifications import Notifier
from console.ui.parts import ConsoleParts
from console.ui.ports import Badge, FleetPort, SessionsPort
from console.ui.remote import FleetHealth
from console.ui.summary_figures import Baseline
from console.ui.theme import ThemeState

log = logging.getLogger(__name__)

STAKES = {Badge.MAINNET: 0, Badge.CUSTOM: 1, Badge.TESTNET: 2, Badge.SIMULATED: 3}
"""Which account speaks for "All accounts" in the status bar: the most money at stake."""
LISTED_PER_ACCOUNT = 5
"""Orders named one by one per account in the global stop's confirmation."""


@dataclass
class Account:
    """One open account."""

    controller: ConsoleController
    parts: ConsoleParts
    baseline: Baseline | None = None
    """Its positions when the window opened it (session PnL starts there)."""

    @property
    def label(self) -> str:
        return self.controller.label


def remote_plan(health: FleetHealth | None, flatten: bool) -> str:
    """What the global stop does to a remote account, and who would carry it out."""
    what = "halt, cancel every open order" + (", close every position" if flatten else "")
    if health is None or health.holder is None:
        return (f"an emergency_stop command ({what}); NO ENGINE holds its lease now, so "
                "nothing will be sent unless one does")
    return f"an emergency_stop command ({what}) for engine {health.holder}"


def holding_line(position: Position) -> str:
    side = "long" if position.size > 0 else "short"
    return (f"{position.symbol} {side} {fmt_decimal(abs(position.size))} @ "
            f"{fmt_decimal(position.entry_price)}")


class Workspace(QObject):
    accounts_changed = Signal()
    """An account was opened or closed (the list, not its content)."""
    account_added = Signal(object)
    """A `ConsoleController`, before it starts."""
    account_closing = Signal(object)
    """A `ConsoleController` about to stop: drop what shows it."""
    scope_changed = Signal()
    global_reported = Signal(object)
    """A `GlobalReport`."""
    global_changed = Signal()
    """The global stop started or finished (actions follow)."""
    message = Signal(str)

    def __init__(self, *, theme: ThemeState, confirmer: Confirmer, notifier: Notifier,
                 operator: Callable[[], str], clock_ms: Callable[[], int] = wall_ms,
                 flush_ms: int = 150, sessions: SessionsPort | None = None,
                 fleet: FleetPort | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.confirmer = confirmer
        self.notifier = notifier
        self.operator = operator
        self.clock_ms = clock_ms
        self.flush_ms = flush_ms
        self.sessions = sessions
        self.fleet = fleet
        self.all_view = AllAccountsView(theme, flush_ms=flush_ms, parent=self)
        self._accounts: dict[str, Account] = {}
        self._opening: set[str] = set()
        self.scope: str | None = None
        """The account the tables show; None: every account."""
        self.global_running = False
        self.last_global: GlobalReport | None = None

    # -- accounts ----------------------------------------------------------------------------

    @property
    def accounts(self) -> list[Account]:
        return list(self._accounts.values())

    def controllers(self) -> list[ConsoleController]:
        return [a.controller for a in self._accounts.values()]

    def labels(self) -> list[str]:
        return list(self._accounts)

    def account(self, label: str) -> Account:
        try:
            return self._accounts[label]
        except KeyError:
            raise UserFacingError(f"no open account is named {label!r}") from None

    def controller(self, label: str) -> ConsoleController:
        return self.account(label).controller

    def add(self, parts: ConsoleParts) -> ConsoleController:
        """Make `parts` an open account (its engine not started yet)."""
        label = parts.label
        if label in self._accounts:
            raise UserFacingError(f"{label} is open already")
        controller = ConsoleController(
            parts.session, parts.book, parts.identity, confirmer=self.confirmer,
            notifier=self.notifier, theme=self.theme, operator=self.operator,
            alerts=parts.alerts, chaos=parts.chaos, demo=parts.demo, clock_ms=self.clock_ms,
            flush_ms=self.flush_ms, remote=parts.remote, parent=self)
        self._accounts[label] = Account(controller, parts)
        self.all_view.set_accounts(self.controllers())
        self.account_added.emit(controller)
        self.accounts_changed.emit()
        self._scope_follows()
        return controller

    async def start(self, controller: ConsoleController) -> None:
        """Note what the ledger holds (the session PnL's start), then start the engine."""
        account = self._accounts.get(controller.label)
        if account is not None and account.baseline is None:
            ident = controller.identity
            at = self.clock_ms()
            held = await controller.read(controller.book.positions, ident.venue,
                                         ident.account)
            account.baseline = Baseline(at, tuple(held))
        await controller.start()

    async def start_all(self) -> None:
        await asyncio.gather(*(self.start(c) for c in self.controllers()))

    def prefetch(self) -> None:
        """Start every account's first read of its orders table (from the loop, before
        the window shows: the reads overlap its first paint; `console.ui.first_load`)."""
        for controller in self.controllers():
            controller.prefetch()

    def openable(self, names: Sequence[str]) -> list[str]:
        """Of the profiles `names`, those that could be opened now (not open, not being
        opened), when this window can open profiles at all."""
        if self.sessions is None:
            return []
        return [n for n in names if n not in self._accounts and n not in self._opening]

    async def open_profile(self, name: str, *, start: bool = True) -> ConsoleController:
        """Build the profile's session in a worker thread, open it as an account, start it."""
        if self.sessions is None:
            raise UserFacingError("Profiles cannot be opened in this session.")
        if name in self._accounts or name in self._opening:
            raise UserFacingError(f"{name} is open already")
        self._opening.add(name)
        self.say(f"Opening {name}…")
        try:
            parts = await asyncio.to_thread(self.sessions.open, name)
            try:
                controller = self.add(parts)
            except BaseException:
                await parts.aclose()
                raise
        finally:
            self._opening.discard(name)
        self.say(f"Opened {controller.identity.badge.value} {name} "
                 f"({controller.venue}/{controller.account}).")
        if start:
            await self.start(controller)
        return controller

    async def attach_fleet(self, url: str, *, start: bool = True) -> list[ConsoleController]:
        """Open every account of a shared PostgreSQL ledger that is not open yet as a
        remote account (`FleetPort.attach`, in a worker thread), and start watching each.
        Never shows the URL's password (the port redacts it)."""
        if self.fleet is None:
            raise UserFacingError("This window cannot attach to a fleet ledger.")
        found = await asyncio.to_thread(self.fleet.attach, url)
        added: list[ConsoleController] = []
        for parts in found:
            if parts.label in self._accounts:
                await parts.aclose()
                continue
            added.append(self.add(parts))
        if not found:
            self.say("The fleet ledger holds no account yet (no lease, no run).")
        elif not added:
            self.say("Every account of the fleet ledger is open already.")
        else:
            self.say(f"Attached {plural(len(added), 'remote account')}: "
                     + ", ".join(c.label for c in added) + ".")
        if start:
            await asyncio.gather(*(self.start(c) for c in added))
        return added

    def staying_open(self, controller: ConsoleController) -> list[str]:
        """What a closed account leaves on its venue, as the window knows it."""
        orders = [o for o in controller.orders.records() if o.is_active]
        positions = controller.positions.records()
        lines = [f"  order {order_line(o)}" for o in orders]
        lines += [f"  position {holding_line(p)}" for p in positions]
        return lines

    async def close(self, label: str, *, ask: bool = True) -> bool:
        """Stop the account's engine and release it. With open orders or positions the
        operator confirms first, told what stays open on the venue. False when not
        closed (declined)."""
        account = self.account(label)
        if len(self._accounts) == 1:
            raise UserFacingError(f"{label} is the only open account: quit the window to "
                                  "close it.")
        c = account.controller
        if c.emergency_running or self.global_running:
            raise UserFacingError(f"{label}: an emergency stop is running; close it after.")
        held = self.staying_open(c) if c.capabilities.engine_here else []
        if ask and held:
            ident = c.identity
            if not await self.confirmer.confirm(
                    f"Close {label}", f"Close {ident.badge.value} {label} "
                    f"({ident.venue}/{ident.account})? Its engine stops: nothing in this "
                    "window watches or reconciles the account until it is opened again. "
                    "These stay open on the venue:",
                    [*held, "Close the account without touching them?"],
                    accept="Close account"):
                self.say(f"{label} stays open.")
                return False
        del self._accounts[label]
        self.all_view.set_accounts(self.controllers())
        self.account_closing.emit(c)
        if self.scope == label:
            self.scope = None
        self.accounts_changed.emit()
        self._scope_follows()
        try:
            await c.aclose()
        finally:
            await account.parts.aclose()
            c.deleteLater()
        what = plural(len(held), "order or position", "orders and positions")
        stays = "stays" if len(held) == 1 else "stay"
        self.say(f"Closed {label}" + (f": {what} {stays} open on the venue." if held
                                      else "."))
        return True

    async def aclose(self) -> None:
        """Stop every account (the window is closing)."""
        for account in list(self._accounts.values()):
            try:
                await account.controller.aclose()
            finally:
                await account.parts.aclose()

    def say(self, text: str) -> None:
        log.info("%s", text)
        self.message.emit(text)

    # -- scope -------------------------------------------------------------------------------

    @property
    def showing_all(self) -> bool:
        """The tables show every account (two or more open, "All accounts" selected)."""
        return self.scope is None and len(self._accounts) > 1

    @property
    def current(self) -> ConsoleController | None:
        """The one account the tables show; None while they show several."""
        if self.scope is not None and self.scope in self._accounts:
            return self._accounts[self.scope].controller
        if len(self._accounts) == 1:
            return next(iter(self._accounts.values())).controller
        return None

    @property
    def focus(self) -> ConsoleController:
        """The account the status bar and charts speak for: the one shown, or with every
        account shown, the one with the most money at stake (then the first opened)."""
        current = self.current
        if current is not None:
            return current
        if not self._accounts:
            raise UserFacingError("no account is open")
        return min(self.controllers(), key=lambda c: STAKES.get(c.identity.badge, 9))

    def set_scope(self, label: str | None) -> None:
        if label is not None:
            self.account(label)
        if label == self.scope:
            return
        self.scope = label
        self._scope_follows()
        self.scope_changed.emit()

    def _scope_follows(self) -> None:
        if self.showing_all:
            self.all_view.activate()
        else:
            self.all_view.deactivate()

    def controller_for(self, record: object) -> ConsoleController:
        """The account a row belongs to: its tag in the all-accounts tables, else the
        account shown."""
        label = account_of(record)
        if label is not None:
            if label not in self._accounts:
                raise UserFacingError(f"{label} has been closed since this row was shown.")
            return self._accounts[label].controller
        current = self.current
        if current is None:
            raise UserFacingError("Select one account in the accounts bar first.")
        return current

    # -- every account at once ---------------------------------------------------------------

    def targets(self) -> list[StopTarget]:
        return [StopTarget(c.label, c.identity, c.local_session, c.read_only, c.remote)
                for c in self.controllers()]

    def stop_plan(self, flatten: bool) -> list[str]:
        """The confirmation's lines: what the stop will do on each account."""
        lines: list[str] = []
        for c in self.controllers():
            ident = c.identity
            orders = [o for o in c.orders.records() if o.is_active]
            positions = c.positions.records()
            head = f"{ident.badge.value} {c.label} ({ident.venue}/{ident.account})"
            if c.remote is not None:
                lines.append(f"{head}: remote — {remote_plan(c.health, flatten)} "
                             f"({plural(len(orders), 'open order')} and "
                             f"{plural(len(positions), 'position')} in the ledger).")
                continue
            if c.read_only:
                lines.append(f"{head}: halt only. Read-only profile: nothing is sent; its "
                             f"{plural(len(orders), 'open order')} and "
                             f"{plural(len(positions), 'position')} stay open.")
                continue
            what = f"halt, cancel every open order ({len(orders)} in the ledger)"
            if flatten:
                what += f", close every position at market ({len(positions)})"
            lines.append(f"{head}: {what}.")
            lines += [f"  cancel {order_line(o)}" for o in orders[:LISTED_PER_ACCOUNT]]
            if len(orders) > LISTED_PER_ACCOUNT:
                lines.append(f"  … and {len(orders) - LISTED_PER_ACCOUNT} more orders")
            if flatten:
                lines += [f"  close {holding_line(p)}" for p in positions]
        lines.append("Trading stays halted on every account until an operator resumes it; "
                     "then each account is reconciled and its report lists what is still "
                     "open.")
        return lines

    async def halt_all(self) -> dict[str, bool]:
        """Halt every account now (in memory first, no confirmation: nothing is sent),
        record it, stop the strategies. label -> newly halted."""
        targets = self.targets()
        operator = self.operator()
        actor = f"emergency:{operator}"
        at = self.clock_ms()
        reason = f"every account halted from the console by {operator}"
        newly = halt_everything(targets, actor=actor, reason=reason, at=at)
        # the remote accounts' halt commands go out at once, beside the local records
        remote = asyncio.ensure_future(halt_remote(targets, operator=operator, reason=reason))
        for c in self.controllers():
            c.risk_changed.emit()
        local = [t for t in targets if t.session is not None]
        entries = {t.label: halt_entry(t, actor=actor, reason=reason, at=at, flatten=None,
                                       newly=newly[t.label], accounts=len(targets))
                   for t in local}
        not_recorded = await record(local, entries)
        await asyncio.gather(*(stop_strategies(t.session) for t in local))
        outcomes = await remote
        failed = {label: o.text for label, o in outcomes.items() if not o.done}
        newly.update({label: o.result == "halted" for label, o in outcomes.items() if o.done})
        halted = sum(newly.values())
        self.say(f"HALTED {'every account' if not failed else 'these accounts'} "
                 f"({halted} newly, {len(newly) - halted} already): every new order is "
                 "refused until an operator resumes."
                 + "".join(f" {label}: {why}." for label, why in not_recorded.items())
                 + "".join(f" NOT HALTED {label}: {why}." for label, why in failed.items()))
        for c in self.controllers():
            c.refresh_soon("audit", "health", delay_ms=0)
        return newly

    async def global_stop(self, *, flatten: bool) -> GlobalReport | None:
        """After one confirmation listing every account and what it will do: halt every
        account in memory at once, then cancel all (and flatten) on each in parallel; one
        report per account and the total."""
        if self.global_running:
            self.say("The emergency stop of every account is already running.")
            return None
        what = "cancel all orders and flatten" if flatten else "cancel all orders"
        n = len(self._accounts)
        if not await self.confirmer.confirm(
                f"Emergency stop of every account: {what}",
                f"{what.capitalize()} on all {n} open account{'s' if n != 1 else ''}. "
                "This will:", self.stop_plan(flatten),
                accept=f"Stop all {n} accounts"):
            self.say("Emergency stop of every account not confirmed: nothing sent (a halt, "
                     "if any, stays).")
            return None
        controllers = self.controllers()
        targets = self.targets()
        self.global_running = True
        for c in controllers:
            c.emergency_running = True
        self.global_changed.emit()
        try:
            # stop_all halts every account before its first await
            report = await stop_all(targets, flatten=flatten, operator=self.operator(),
                                    reason=f"{what} on every account from the console",
                                    clock_ms=self.clock_ms)
        finally:
            self.global_running = False
            for c in controllers:
                c.emergency_running = False
            self.global_changed.emit()
        self.last_global = report
        by_label = {c.label: c for c in controllers}
        await asyncio.gather(*(by_label[p.label].take_report(p.report) for p in report.accounts
                               if p.report is not None and p.label in by_label))
        for part in report.accounts:
            halted_only = by_label.get(part.label)
            if halted_only is not None and part.report is None:
                halted_only.risk_changed.emit()
                halted_only.refresh_soon("book", "audit", "alerts", "health", delay_ms=0)
        self.global_reported.emit(report)
        self.say(f"Emergency stop of every account: {report.headline}")
        return report

    async def settle(self) -> None:
        """Every account's refreshes done, every table flushed (tests, screenshots)."""
        for c in self.controllers():
            await c.settle()
        self.all_view.flush()
