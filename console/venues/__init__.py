"""Venue connectors: one package per venue with the same files (client, parsing, errors,
config), each offering the engine's `VenuePort`. What every connector shares (worker
threads and the priority lane, retry, rate budget, error context, paging, the stream
supervisor, `ConnectorBase`) lives once in `_common`, which knows no venue."""
