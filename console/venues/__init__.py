"""Venue connectors: one package per venue with the same files (client, parsing, errors,
config), each offering the engine's `VenuePort`. Arriving with the Bybit, Binance and
Deribit issues; until then the simulated exchange (`console.sim.venue`) is the venue."""
