"""Opening a profile whose ledger book another profile bound (a USD-M profile on the book of
a spot one) is refused in the window as on the CLI: the builders are the same, and the
window shows the refusal's text."""

from __future__ import annotations

from console.book_marker import record_binding
from console.profiles import Profile, book_identity
from console.store import Ledger
from console.venues.registry import VENUES

from . import accounts_harness
from .accounts_harness import MakeAccounts

make_accounts = accounts_harness.make_accounts


def test_opening_a_profile_on_another_profiles_book_shows_the_refusal(
        make_accounts: MakeAccounts) -> None:
    a = make_accounts(["alpha"])
    db = f"sqlite:///{a.config.parent / 'binance.db'}"
    with a.config.open("a", encoding="utf-8") as out:
        out.write(f'[profiles.bn2]\nvenue = "binance"\ndb_url = "{db}"\n'
                  '[profiles.bn2.binance]\nmarket = "usdm"\n')
    spot = book_identity(Profile(name="bnspot", venue="binance", symbols=("BTCUSDT",),
                                 settings=VENUES["binance"].parse_settings({"market": "spot"})),
                         VENUES)
    assert spot is not None
    with Ledger.open(db) as ledger:
        record_binding(ledger, "main", spot, at=1, profile="bnspot")
    a.window.open_account("bn2")
    a.idle()
    assert a.workspace.labels() == ["alpha"]
    error = a.window.last_error or ""
    assert "bound to binance testnet, market=spot (first used by profile 'bnspot')" in error
    assert "own --account (e.g. main-usdm) or its own --db" in error
    a.window.tasks.errors.clear()
