"""A window over several sim profiles (`profile_parts`, each its own embedded exchange
and ledger), for the multi-account tests: the real workspace, the real engines, the real
sims, driven on the one qasync loop like `conftest.Harness`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
import qasync

from console.bootstrap_gui import ProfileSessions, profile_parts
from console.domain import Order, Position
from console.profiles import CONFIG_ENV
from console.sim import SimExchange, SimVenue
from console.ui.app import Console, create_workspace_console
from console.ui.controller import ConsoleController
from console.ui.dialogs.confirm import ScriptedConfirmer
from console.ui.settings import UiSettings
from console.ui.workspace import Workspace

from .conftest import drive

T = TypeVar("T")
NAMES = ("alpha", "beta", "gamma", "delta")
"""Sim profiles in the test's profiles file; the first three open at start."""


def write_profiles(tmp_path: Path, read_only: Sequence[str] = ()) -> Path:
    config = tmp_path / "profiles.toml"
    config.write_text("".join(
        f'[profiles.{name}]\nvenue = "sim"\ndb_url = "sqlite:///{tmp_path / name}.db"\n'
        + ("read_only = true\n" if name in read_only else "")
        for name in NAMES), encoding="utf-8")
    return config


@dataclass
class Accounts:
    loop: qasync.QEventLoop
    console: Console
    confirmer: ScriptedConfirmer
    config: Path
    closed: bool = False

    @property
    def window(self) -> Any:
        return self.console.window

    @property
    def workspace(self) -> Workspace:
        return self.console.workspace

    def controller(self, label: str) -> ConsoleController:
        return self.workspace.controller(label)

    def sim(self, label: str) -> SimExchange:
        """The account's own simulated exchange (each sim profile has one)."""
        return cast(SimVenue, self.controller(label).session.venue).exchange

    def sim_open(self, label: str) -> list[Order]:
        return self.sim(label).open_orders("main")

    def sim_positions(self, label: str) -> list[Position]:
        return self.sim(label).positions("main")

    def run(self, coro: Awaitable[T], timeout: float = 60.0) -> T:
        return drive(self.loop, coro, timeout)

    def idle(self) -> None:
        self.run(self.window.tasks.idle())
        self.run(self.workspace.settle())

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.window.close()
        self.run(self.window.tasks.cancel_all())
        self.run(self.workspace.aclose())
        self.window.deleteLater()


MakeAccounts = Callable[..., Accounts]


@pytest.fixture
def make_accounts(loop: qasync.QEventLoop, tmp_path: Path, settings: UiSettings,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeAccounts]:
    made: list[Accounts] = []

    def make(names: Sequence[str] = NAMES[:3], *, answers: list[bool] | None = None,
             read_only: Sequence[str] = (), start: bool = True) -> Accounts:
        config = write_profiles(tmp_path, read_only)
        monkeypatch.setenv(CONFIG_ENV, str(config))
        parts = [profile_parts(name, config_path=str(config)) for name in names]
        confirmer = ScriptedConfirmer(answers=list(answers or []))
        console = create_workspace_console(parts, settings=settings, confirmer=confirmer,
                                           flush_ms=20, theme="dark",
                                           sessions=ProfileSessions(str(config)))
        console.window.show_error_dialogs = False
        console.window.show()
        accounts = Accounts(loop, console, confirmer, config)
        made.append(accounts)
        if start:
            accounts.run(console.workspace.start_all())
            accounts.idle()
        return accounts

    yield make
    for accounts in made:
        accounts.close()
