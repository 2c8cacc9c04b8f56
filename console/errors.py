"""Errors that cross layer boundaries.

`UserFacingError` carries a message fit for an operator: what went wrong and what to do.
The venue taxonomy (docs/architecture.md, "The venue port"): how the caller must react
decides the class, not where the error came from.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """An error whose text can be shown to the operator as is (never contains secrets)."""


class UserCancelled(UserFacingError):
    """The operator declined a confirmation."""


class ConfigError(UserFacingError):
    """A profile, URL or setting is missing or wrong."""


class LedgerError(UserFacingError):
    """The ledger could not be read or written (locked, unreachable, not migrated)."""


class LeaseLostError(LedgerError):
    """This engine does not hold the lease of the (venue, account): it never had it, or
    another engine has taken it over since. The write or the send was refused and nothing
    was written or sent (docs/architecture.md, "Leases and fencing"). A `LedgerError`, so
    that every path that survives a failed write survives a fenced one."""


class VenueError(UserFacingError):
    """Base of every failure talking to a venue."""

    def __init__(self, message: str, *, venue: str = "", code: str | None = None) -> None:
        super().__init__(message)
        self.venue = venue
        self.code = code


class TransientVenueError(VenueError):
    """Retry with backoff: the request certainly did not take effect (or is idempotent)."""


class RateLimitedError(VenueError):
    """Wait for the venue's reset hint before trying again."""

    def __init__(
        self, message: str, *, venue: str = "", code: str | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(message, venue=venue, code=code)
        self.retry_after_ms = retry_after_ms


class FatalVenueError(VenueError):
    """Do not retry: bad credentials, bad request, unknown symbol, insufficient funds."""


class UnknownOutcomeError(VenueError):
    """The request may or may not have taken effect: resolve by query, never by resending."""


class DuplicateClientOrderIdError(FatalVenueError):
    """The venue already has an order with this client id: an earlier attempt got through.
    Never resend under a new id; ask the venue for this one."""


class OrderNotFoundError(FatalVenueError):
    """The venue does not know this order (by venue id or client id)."""


class ReplaceCancelRefusedError(FatalVenueError):
    """An atomic replace (`VenuePort.replace_order`) whose cancel the venue refused (the
    order is unknown, finished, or no longer untouched): nothing changed, the replacement
    was not attempted. What became of the order is for the caller to ask."""


class ReplacementRefusedError(FatalVenueError):
    """An atomic replace that cancelled the original but whose new order the venue
    refused: the original is gone and nothing is live for the intent."""


class CapabilityUnsupported(FatalVenueError):
    """The connector declares that it does not offer this capability (see
    `console.domain.capabilities.VenueCapabilities`); asking for it is a programming or
    configuration error, never a reason to fall back silently."""


class MalformedVenueDataError(FatalVenueError):
    """The venue answered with data we cannot trust (unknown enum, bad number, missing field).

    Nothing derived from that answer may reach the ledger; the text names the field.
    """
