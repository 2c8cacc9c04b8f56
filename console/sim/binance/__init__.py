"""A protocol-faithful Binance front-end (spot and USD-M futures) for the simulated exchange.

`BinanceFrontEnd` serves Binance's spot REST API (``/api/v3``) and USD-M REST API
(``/fapi/v1|v2|v3``: orders, batches, algo orders, countdown cancel, listenKeys) on one
port over one `SimExchange`, with Binance's HMAC signing, bare JSON answers, ``{"code",
"msg"}`` errors and their HTTP statuses, request weights and order counts; its WebSocket
half (the USD-M user-data stream, the spot WebSocket API) is `console.sim.binance.ws`.
The shared machinery (pipeline, faults, limits, keys, event hub) is
`console.sim.protocol`'s; this package holds Binance's endpoint tables, shapes, codes and
signature rules. ccxt and python-binance work against it with only their URLs changed
(see `console.sim.binance.server`).
"""

from console.sim.binance.codes import BinanceError
from console.sim.binance.faults import BinanceFaults
from console.sim.binance.server import BinanceFrontEnd

__all__ = ["BinanceError", "BinanceFaults", "BinanceFrontEnd"]
