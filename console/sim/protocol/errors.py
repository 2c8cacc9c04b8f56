"""The one exception a request stage raises to refuse a request in the venue's terms.

Every front-end's own error (Bybit's coded error envelope, a Binance ``{"code", "msg"}`` error,
a Deribit JSON-RPC error) subclasses `ProtocolError`, so the shared request pipeline can
stop at any stage and hand the refusal to the venue's envelope hook for rendering, without
knowing which venue it serves.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """A refused request: the venue's numeric code and its message, as the client sees them."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
