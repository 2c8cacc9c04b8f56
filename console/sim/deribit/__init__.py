"""The simulated Deribit front-end: JSON-RPC 2.0 over HTTP and WebSocket (API v2).

`DeribitFrontEnd` serves a `SimExchange`'s inverse perpetuals (BTC-PERPETUAL,
ETH-PERPETUAL) and USDC linear perpetuals under Deribit's names, with Deribit's auth
(OAuth tokens from ``public/auth`` and per-request ``deri-hmac-sha256``), credit rate
limits, heartbeats, cancel-on-disconnect and ``user.*`` subscriptions.
"""

from console.sim.deribit.server import DeribitFrontEnd

__all__ = ["DeribitFrontEnd"]
