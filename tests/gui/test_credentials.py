"""Credentials through the window: into a real OS keyring (gnome-keyring under
dbus-run-session: `bash .ci/with-keyring.sh .venv/bin/python -m pytest tests/gui`), and
into nothing else: no widget shows them after saving (so no screenshot can), no log line,
no ledger row, no settings file holds them."""

from __future__ import annotations

import logging
import os
import tomllib
import uuid
from pathlib import Path

import keyring
import pytest
from canary import CANARY_KEY, CANARY_SECRET
from keyring.backends import fail
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QTextBrowser,
    QWidget,
)

from console.bootstrap_gui import KeyringCredentials, ProfileFile
from console.credentials import ApiCredentials, CredentialsError, CredentialStore
from console.errors import UserFacingError
from console.ui.ports import ProfileDraft
from console.venues.registry import VENUES

from .conftest import SCREENSHOTS, MakeConsole


def visible_texts(root: QWidget) -> list[str]:
    """Every string a widget tree can paint: labels, fields (as displayed), buttons, combo
    items, titles, tooltips, rich text, status messages and every table cell."""
    out: list[str] = [root.windowTitle(), root.toolTip()]
    for w in [root, *root.findChildren(QWidget)]:
        out += [w.windowTitle(), w.toolTip(), w.statusTip(), w.accessibleName()]
        if isinstance(w, QLabel):
            out.append(w.text())
        elif isinstance(w, QLineEdit):
            out += [w.displayText(), w.placeholderText()]
        elif isinstance(w, QAbstractButton):
            out.append(w.text())
        elif isinstance(w, QComboBox):
            out += [w.currentText(), *(w.itemText(i) for i in range(w.count()))]
        elif isinstance(w, QTextBrowser):
            out.append(w.toPlainText())
        elif isinstance(w, QAbstractItemView) and w.model() is not None:
            m = w.model()
            for r in range(m.rowCount()):
                for c in range(m.columnCount()):
                    out.append(str(m.index(r, c).data() or ""))
                    out.append(str(m.index(r, c).data(3) or ""))  # tooltip role
        if isinstance(w, QMainWindow):
            out.append(w.statusBar().currentMessage())
    return out


def _secret_service() -> str:
    try:
        return CredentialStore().check()
    except CredentialsError as exc:
        return f"unavailable: {exc}"


@pytest.fixture
def keyring_store() -> CredentialStore:
    found = _secret_service()
    if found.startswith("unavailable"):
        hint = ("run the GUI tests inside a keyring session: "
                "bash .ci/with-keyring.sh .venv/bin/python -m pytest tests/gui")
        if os.environ.get("CI"):
            pytest.fail(f"no secure keyring under CI ({found}); {hint}", pytrace=False)
        pytest.skip(f"no secure keyring here; {hint}")
    return CredentialStore(service=f"recon-console-test-{uuid.uuid4().hex[:8]}")


def test_credentials_round_trip_through_the_keyring_and_nowhere_else(
        make_console: MakeConsole, keyring_store: CredentialStore, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    profile = "gui-test"
    api_key = CANARY_KEY
    api_secret = CANARY_SECRET
    port = KeyringCredentials(keyring_store)
    h = make_console("clean", credentials=port,
                     profiles=ProfileFile(str(tmp_path / "profiles.toml")))
    try:
        dialog = h.window.open_credentials(profile)
        assert dialog is not None
        h.run(dialog.idle())
        assert "SecretService" in dialog.backend.text()
        assert dialog.save_button.isEnabled()
        assert "No key is stored" in dialog.stored.text()

        QTest.keyClicks(dialog.api_key, api_key)
        QTest.keyClicks(dialog.api_secret, api_secret)
        assert dialog.api_key.text() == api_key  # typed, but shown masked:
        assert api_key not in dialog.api_key.displayText()
        assert api_secret not in dialog.api_secret.displayText()
        texts = "\n".join(visible_texts(h.window) + visible_texts(dialog))
        assert api_key not in texts and api_secret not in texts
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        assert dialog.grab().save(str(SCREENSHOTS / "credentials-dialog.png"))

        dialog.save_button.click()
        h.run(dialog.idle())
        assert dialog.api_key.text() == "" and dialog.api_secret.text() == ""
        assert "It will not be shown again" in dialog.outcome.text()
        assert "A key is stored" in dialog.stored.text()
        assert keyring_store.get(profile) == ApiCredentials(api_key, api_secret)

        # never shown again: a new dialog starts empty and says only that a key exists
        dialog.close()
        again = h.window.open_credentials(profile)
        assert again is not None
        h.run(again.idle())
        assert again.api_key.text() == "" and again.api_secret.text() == ""
        h.idle()
        texts = "\n".join(visible_texts(h.window) + visible_texts(again))
        assert api_key not in texts and api_secret not in texts
        assert again.grab().save(str(SCREENSHOTS / "credentials-saved.png"))
        again.close()
        h.window.save_layout()

        assert api_key not in caplog.text and api_secret not in caplog.text
        for path in tmp_path.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert api_key.encode() not in data, path
                assert api_secret.encode() not in data, path
    finally:
        keyring_store.delete(profile)


def test_without_a_secure_keyring_the_dialog_says_what_to_do(
        make_console: MakeConsole) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    try:
        h = make_console("clean", credentials=KeyringCredentials(CredentialStore()))
        dialog = h.window.open_credentials("any")
        assert dialog is not None
        h.run(dialog.idle())
        text = dialog.backend.text()
        assert text.startswith("No secure keyring:")
        assert "gnome-keyring-daemon" in text or "Keychain" in text
        assert not dialog.save_button.isEnabled()
        dialog.close()
    finally:
        keyring.set_keyring(previous)


def test_profile_dialog_saves_a_profile_then_asks_for_its_key(
        make_console: MakeConsole, tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    path = tmp_path / "profiles.toml"
    try:
        h = make_console("clean", credentials=KeyringCredentials(CredentialStore()),
                         profiles=ProfileFile(str(path)))
        dialog = h.window.open_profile()
        assert dialog is not None
        # the venues offered are the registry's connectors, nothing else
        offered = [dialog.venue.itemText(i) for i in range(dialog.venue.count())]
        assert offered == list(VENUES)
        dialog.venue.setCurrentText("bybit")
        dialog.name.setText("bybit-test")
        dialog.network.setCurrentText("testnet")
        dialog.symbols.setText("btcusdt, ethusdt")
        dialog.read_only.setChecked(True)
        category = dialog.field("category")
        assert isinstance(category, QComboBox)
        assert category.currentText() == "linear"  # the venue's default
        category.setCurrentText("spot")
        assert h.run(dialog.save())
        h.pump(0.05)
        text = path.read_text()
        assert "[profiles.bybit-test]" in text and "read_only = true" in text
        assert '"BTCUSDT"' in text
        saved = tomllib.loads(text)["profiles"]["bybit-test"]
        assert saved["bybit"] == {"category": "spot", "settle_coin": "USDT"}
        assert "category" not in saved  # the venue's own fields live in its table
        follow_up = h.window.credentials_dialog
        assert follow_up is not None and follow_up.profile.currentText() == "bybit-test"
        h.run(follow_up.idle())
        follow_up.close()

        again = h.window.open_profile()
        assert again is not None
        again.name.setText("bybit-test")
        assert not h.run(again.save())
        assert "exists already" in again.error.text()
        again.close()
    finally:
        keyring.set_keyring(previous)


def test_profiles_port_refuses_a_venue_without_connector(tmp_path: Path) -> None:
    """The dialog offers only the registry's venues; the port behind it refuses any other
    with the same message as the CLI and the file reader, and writes nothing."""
    path = tmp_path / "profiles.toml"
    port = ProfileFile(str(path))
    assert [v.name for v in port.venues] == list(VENUES)
    bybit = next(v for v in port.venues if v.name == "bybit")
    assert [f.key for f in bybit.fields] == ["category", "settle_coin", "dead_man_s"]
    for venue in ("okx", "kraken"):
        with pytest.raises(UserFacingError) as info:
            port.save(ProfileDraft(name="b", venue=venue, network="testnet"))
        assert (f"venue {venue!r} has no connector in this build; available: binance, "
                "bybit, deribit, sim" in str(info.value))
    assert not path.exists()
    with pytest.raises(UserFacingError, match=r"key bybit\.settle_coin"):
        port.save(ProfileDraft(name="b", venue="bybit", network="testnet",
                               settings=(("category", "linear"), ("settle_coin", "usdt"))))
    assert not path.exists()
