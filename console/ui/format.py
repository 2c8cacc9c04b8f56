"""Text for the screen: decimals exactly as they are (never through float), times local."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

DASH = "–"


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


def fmt_utc(ms: int | None) -> str:
    """ISO UTC with milliseconds, for tooltips and exports."""
    if ms is None or ms <= 0:
        return DASH
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


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
