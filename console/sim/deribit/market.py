"""The public methods that need no connection: time, test, hello, instruments, currencies.

``public/get_instruments(currency, kind)`` lists the served perpetuals (kind ``future``;
options, spot and combos are not simulated: an empty list). ``currency`` is the
settlement currency (BTC for BTC-PERPETUAL, USDC for BTC_USDC-PERPETUAL) or ``any``
(ccxt's load_markets asks without one: every instrument).
"""

from __future__ import annotations

from typing import Any, Final

from console.sim.core import SimExchange
from console.sim.deribit import params as p
from console.sim.deribit.rpc import Context
from console.sim.deribit.shapes import KIND, currency_record, instrument_record
from console.sim.deribit.views import Views

API_VERSION: Final = "1.2.26"  # what public/test reports (the sim's stand-in)
KINDS: Final = ("future", "option", "spot", "future_combo", "option_combo", "any")


class Market:
    def __init__(self, exchange: SimExchange, views: Views) -> None:
        self.exchange = exchange
        self.views = views

    def get_time(self, ctx: Context) -> int:
        return ctx.now_ms

    def test(self, ctx: Context) -> dict[str, Any]:
        return {"version": API_VERSION}

    def hello(self, ctx: Context) -> dict[str, Any]:
        p.text(ctx.params, "client_name")
        p.text(ctx.params, "client_version")
        return {"version": API_VERSION}

    def get_instruments(self, ctx: Context) -> list[dict[str, Any]]:
        currency = self.views.currency(ctx.params.get("currency", "any"))
        kind = p.choice(ctx.params, "kind", KINDS, "any")
        if kind not in (KIND, "any"):
            return []
        return [instrument_record(name, instrument, self.exchange, self.views.created_ms)
                for name, instrument in self.views.served(currency)]

    def get_instrument(self, ctx: Context) -> dict[str, Any]:
        name, instrument = self.views.instrument(ctx.params.get("instrument_name"))
        return instrument_record(name, instrument, self.exchange, self.views.created_ms)

    def get_currencies(self, ctx: Context) -> list[dict[str, Any]]:
        return [currency_record(c) for c in self.views.names.currencies()]
