"""The window's profile dialog refuses what `profiles add` refuses: the connector spec's
`check_profile` (a Binance spot profile without symbols cannot list its trades), with
the same text, and writes nothing."""

from __future__ import annotations

from pathlib import Path

import keyring
from keyring.backends import fail
from PySide6.QtWidgets import QComboBox

from console.bootstrap_gui import KeyringCredentials, ProfileFile
from console.credentials import CredentialStore

from .conftest import MakeConsole

SPOT_TEXT = "give the profile its symbols (--symbols)"
"""The end of the Binance spec's refusal, as `profiles add` prints it."""


def test_the_dialog_refuses_binance_spot_without_symbols(make_console: MakeConsole,
                                                          tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    path = tmp_path / "profiles.toml"
    try:
        h = make_console("clean", credentials=KeyringCredentials(CredentialStore()),
                         profiles=ProfileFile(str(path)))
        dialog = h.window.open_profile()
        assert dialog is not None
        dialog.venue.setCurrentText("binance")
        dialog.name.setText("spot-test")
        market = dialog.field("market")
        assert isinstance(market, QComboBox)
        market.setCurrentText("spot")
        assert not h.run(dialog.save())
        assert SPOT_TEXT in dialog.error.text() and "Binance spot" in dialog.error.text()
        assert not path.exists()
        assert h.window.credentials_dialog is None  # no follow-up for an unsaved profile

        dialog.symbols.setText("btcusdt")  # with its symbols it is saved
        assert h.run(dialog.save())
        h.pump(0.05)
        assert "[profiles.spot-test]" in path.read_text()
        follow_up = h.window.credentials_dialog
        if follow_up is not None:
            h.run(follow_up.idle())
            follow_up.close()
    finally:
        keyring.set_keyring(previous)
