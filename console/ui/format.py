"""Text for the screen: decimals exactly as they are (never through float), times local."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from console.domain.text import iso_utc as fmt_utc
from console.domain.text import plural

DASH = "–"
__all__ = ["DASH", "fmt_age", "fmt_decimal", "fmt_latency", "fmt_local_tip", "fmt_ms",
           "fmt_time", "fmt_utc", "plural", "zone_label"]


def fmt_decimal(value: Decimal | None, *, signed: bool = False) -> str:
    """Plain notation, no exponent, no trailing zeros ("0.01", "60000", "-3.5")."""
    if value is None:
        return DASH
    if not value.is_finite():
        return str(value)
    text = format(value.normalize(), "f") if value != 0 else "0"
    if signed and value > 0:
        return "+" + text
    return text


def fmt_ms(ms: int | None) -> str:
    """Epoch ms as local "YYYY-MM-DD HH:MM:SS"."""
    if ms is None or ms <= 0:
        return DASH
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def fmt_time(ms: int | None) -> str:
    """Epoch ms as local "HH:MM:SS" (tables where the date is rarely needed)."""
    if ms is None or ms <= 0:
        return DASH
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone().strftime("%H:%M:%S")


def fmt_age(ms: int | None, now_ms: int) -> str:
    """"12 s ago", "3 min ago", "2 h ago"."""
    if ms is None:
        return "never"
    seconds = max(0, (now_ms - ms) // 1000)
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def fmt_latency(ms: float | None) -> str:
    """Latency in ms (a float: it is a duration, not money)."""
    if ms is None:
        return DASH
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 10_000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s"


def zone_label(ms: int | None = None) -> str:
    """The local time zone as an offset ("UTC+01:00", "UTC" when none) at `ms` (now when
    None): the tables show local clock times, and a time without its zone is a guess."""
    at = (datetime.now(tz=UTC) if ms is None or ms <= 0
          else datetime.fromtimestamp(ms / 1000, tz=UTC)).astimezone()
    offset = at.utcoffset()
    minutes = int(offset.total_seconds()) // 60 if offset is not None else 0
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def fmt_local_tip(ms: int | None) -> str:
    """A cell's tooltip for a time: the local date and time with its zone, then UTC."""
    if ms is None or ms <= 0:
        return DASH
    return f"{fmt_ms(ms)} {zone_label(ms)}\n{fmt_utc(ms)}"
