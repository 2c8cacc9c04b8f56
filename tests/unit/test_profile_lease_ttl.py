"""A profile's `lease_ttl_s`: read, bounded, written back and shown like
`reconcile_interval_s`; its default is the engine's; every value it allows leaves the
lease keeper's renewals well inside the TTL."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from console import profiles as profiles_module
from console.__main__ import build_parser
from console.engine.lease import DEFAULT_LEASE_TTL_S, LeaseKeeper, LeasePort
from console.profiles import (
    LEASE_TTL_S_BOUNDS,
    Profile,
    ProfileValueError,
    parse_profile,
    render_profiles,
)
from console.venues.registry import VENUES


def _load(path: Path) -> dict[str, Profile]:
    return profiles_module.load_profiles(path, venues=VENUES)


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "profiles.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_the_default_is_the_engines() -> None:
    assert Profile("p", "sim").lease_ttl_s == DEFAULT_LEASE_TTL_S
    assert parse_profile("p", {"venue": "bybit"}, venues=VENUES).lease_ttl_s == \
        DEFAULT_LEASE_TTL_S


def test_read_from_the_file_and_written_back(tmp_path: Path) -> None:
    path = _write(tmp_path, '[profiles.desk]\nvenue = "bybit"\nlease_ttl_s = 5\n'
                            'reconcile_interval_s = 120\n')
    desk = _load(path)["desk"]
    assert (desk.lease_ttl_s, desk.reconcile_interval_s) == (5, 120)  # independent
    text = render_profiles([desk])
    assert "\nlease_ttl_s = 5\n" in text
    again = _load(_write(tmp_path, text))["desk"]
    assert again == desk
    saved = profiles_module.save_profile(Profile("other", "sim", lease_ttl_s=300),
                                         path, venues=VENUES)
    both = _load(saved)
    assert (both["desk"].lease_ttl_s, both["other"].lease_ttl_s) == (5, 300)


@pytest.mark.parametrize("value", ["1", "301", "0", "-5", "2.5", '"5"', "true"])
def test_a_bad_value_in_the_file_names_the_key(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path, f'[profiles.desk]\nvenue = "sim"\nlease_ttl_s = {value}\n')
    with pytest.raises(ProfileValueError) as caught:
        _load(path)
    assert caught.value.key == "lease_ttl_s"
    message = str(caught.value)
    assert "profile 'desk'" in message and "key lease_ttl_s" in message, message
    assert str(path) in message


@pytest.mark.parametrize("value", [1, 301, 0, 2.5, True, None])
def test_a_bad_value_in_code_is_refused(value: Any) -> None:
    with pytest.raises(ProfileValueError, match="key lease_ttl_s") as caught:
        Profile("bot", "sim", lease_ttl_s=value)
    assert caught.value.key == "lease_ttl_s"
    assert "between 2 and 300" in str(caught.value)


@pytest.mark.parametrize("ttl_s", LEASE_TTL_S_BOUNDS)
def test_every_allowed_ttl_keeps_renewals_well_under_it(ttl_s: int) -> None:
    """The keeper renews every TTL/3 and stops sending TTL/5 before the expiry: at both
    bounds a holder gets at least two renewals in before its own send deadline."""
    Profile("p", "sim", lease_ttl_s=ttl_s)  # allowed
    keeper = LeaseKeeper(cast(LeasePort, object()), "sim", "main", engine="e",
                         ttl_s=float(ttl_s))
    assert keeper.renew_every_s * 2 < keeper.ttl_s - keeper.margin_s


def test_profiles_show_prints_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, '[profiles.desk]\nvenue = "sim"\nlease_ttl_s = 7\n'
                            '[profiles.plain]\nvenue = "sim"\n')
    args = build_parser().parse_args(["profiles", "show", "--config", str(path)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    desk, plain = out.split("[profiles.plain]")
    assert "lease_ttl_s = 7" in desk
    assert f"lease_ttl_s = {int(DEFAULT_LEASE_TTL_S)}" in plain
