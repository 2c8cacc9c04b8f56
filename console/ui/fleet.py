"""How the window words a remote account's health (the accounts bar, the status bar):
who holds its lease, the holder's last heartbeat, whether that is stale (docs/architecture.md,
"The console as a fleet view"). No Qt here: plain text and a tone, so the wording is
tested without a window."""

from __future__ import annotations

from dataclasses import dataclass

from console.ui.remote import FleetHealth
from console.ui.theme import Tone

ENGINE_CHARS = 40
"""An engine id longer than this is shortened in the bars (the tooltip has all of it)."""


def short_engine(engine: str) -> str:
    """The engine id, its middle elided when long ("worker@host:pid:…:tag")."""
    if len(engine) <= ENGINE_CHARS:
        return engine
    half = (ENGINE_CHARS - 1) // 2
    return f"{engine[:half]}…{engine[-half:]}"


@dataclass(frozen=True, slots=True)
class HealthText:
    """A remote account's health in words."""

    engine: str
    """"remote: <engine id>", "remote: NO ENGINE" or "remote: reading…"."""
    engine_tone: Tone
    heartbeat: str
    """"heartbeat 0.4 s ago" (stale: "heartbeat 12.0 s ago, STALE"), or "" before any."""
    heartbeat_tone: Tone
    tooltip: str


def health_text(health: FleetHealth | None) -> HealthText:
    if health is None:
        return HealthText("remote: reading…", Tone.INFO, "", Tone.MUTED,
                          "A remote account: its engine runs elsewhere; the window reads the "
                          "shared ledger (not read yet).")
    lease = health.lease
    age = health.heartbeat_age_ms
    beat = "" if age is None else f"heartbeat {age / 1000:.1f} s ago"
    tip = (f"A remote account ({health.venue}/{health.account}): its engine runs elsewhere; "
           f"this window reads the shared ledger and sends the operator's decisions as "
           f"commands to the lease holder.\nLease: {health.describe()}")
    if lease is not None:
        tip += (f"\nEpoch {lease.epoch}; the lease expires without a renewal "
                f"{max(0, lease.expires_at - lease.renewed_at) / 1000:.1f} s after each "
                "heartbeat.")
    if health.holder is None:
        return HealthText("remote: NO ENGINE", Tone.CRITICAL,
                          f"{beat}, STALE" if beat else "", Tone.CRITICAL,
                          tip + "\nNo engine carries out commands for this account now.")
    return HealthText(f"remote: {short_engine(health.holder)}", Tone.OK, beat, Tone.OK, tip)
