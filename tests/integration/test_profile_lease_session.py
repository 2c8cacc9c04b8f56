"""The lease TTL a profile names is the one its sessions hold the lease for: `run
--headless` (from the profiles file), `build_session` (a `Profile` object), unless the
caller overrides it. Checked on the lease row itself: it expires TTL after its renewal."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from console import __main__ as cli
from console.bootstrap import ProfileSession, build_session
from console.profiles import Profile


def _profiles(tmp_path: Path, ttl_line: str) -> Path:
    config = tmp_path / "profiles.toml"
    config.write_text(f'[profiles.desk]\nvenue = "sim"\nreconcile_interval_s = 3600\n'
                      f"{ttl_line}", encoding="utf-8")
    return config


async def _held_for(session: ProfileSession) -> dict[str, Any]:
    """Start the session, read what its lease keeper and the lease row say, stop."""
    try:
        await session.engine.start()
        keeper = session.engine.lease
        assert keeper is not None  # the composition root always wires the lease
        row = session.ledger.lease(session.profile.venue, session.profile.account)
        assert row is not None and row.held_by(keeper.engine)
        status = keeper.status()
        return {"ttl_s": keeper.ttl_s, "renew_every_s": keeper.renew_every_s,
                "row_ttl_ms": row.expires_at - row.renewed_at,
                "expires_in_s": status.expires_in_s, "enforced": row.enforced}
    finally:
        await session.aclose()


def test_run_headless_holds_the_lease_for_the_profiles_ttl(
        tmp_path: Path, ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _profiles(tmp_path, "lease_ttl_s = 5\n")
    seen: list[dict[str, Any]] = []

    async def daemon(session: ProfileSession) -> int:  # the daemon, up to its start
        seen.append(await _held_for(session))
        return 0

    monkeypatch.setattr(cli, "_daemon", daemon)
    args = cli.build_parser().parse_args(["run", "--headless", "--profile", "desk",
                                          "--config", str(config), "--db", ledger_url])
    assert args.func(args) == 0
    [held] = seen
    assert held["ttl_s"] == 5.0 and held["row_ttl_ms"] == 5_000
    assert held["renew_every_s"] == pytest.approx(5 / 3)
    if held["enforced"]:  # PostgreSQL: the keeper counts down from the row's expiry
        assert 3.0 < held["expires_in_s"] <= 5.0


def test_a_profile_object_without_a_file_and_the_callers_override(
        tmp_path: Path, ledger_url: str) -> None:
    profile = Profile(name="bot", venue="sim", lease_ttl_s=5)
    held = asyncio.run(_held_for(build_session(profile, db_url=ledger_url)))
    assert (held["ttl_s"], held["row_ttl_ms"]) == (5.0, 5_000)

    overridden = build_session(profile, db_url=ledger_url, lease_ttl_s=1.5)
    held = asyncio.run(_held_for(overridden))
    assert (held["ttl_s"], held["row_ttl_ms"]) == (1.5, 1_500)

    default = build_session(Profile(name="bot", venue="sim"), db_url=ledger_url)
    held = asyncio.run(_held_for(default))
    assert (held["ttl_s"], held["row_ttl_ms"]) == (10.0, 10_000)
