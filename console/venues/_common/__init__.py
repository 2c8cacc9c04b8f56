"""Connector machinery every venue shares, knowing no venue (an import-linter contract
holds it to that): a venue package (`console.venues.<name>`) imports from here, never
the reverse.

One module per concern:
* `connector`  `ConnectorBase`: the defaults of the venue port's optional members.
* `lane`       the priority-lane context (emergency stop) and `Lanes` for async clients.
* `threads`    `WorkerThreads`: blocking clients on worker threads, one session per
               thread, a separate pool for the priority lane.
* `retry`      `RetryPolicy`: transient errors and rate limits, bounded, with jitter.
* `budget`     `BudgetKeeper`: per-endpoint rate-limit figures and the wait ahead of a
               call whose budget is spent.
* `errors`     `ErrorContext`, secret scrubbing, HTTP status and transport-error
               classification, malformed answers, strict header integers, telemetry
               class labels.
* `auth_gate`  `AuthGate`: after the venue refused the credentials, calls fail fast
               (logged once) instead of signing with the same secret again.
* `paging`     cursor listings (every page) and capped time windows.
* `supervisor` `StreamSupervisor`: the reconnecting private stream over any
               "connect, then yield raw messages" connection.
* `thread_stream` the connection for stream clients that call back on their own thread
               (pybit's WebSocket, websocket-client).
* `websocket`  the connection over an aiohttp WebSocket read on the loop (imports
               aiohttp: only async connectors import this module).
* `clock`      the local wall clock in milliseconds.

What stays in a venue package: its URLs and configuration, its parsing (explicit maps
between the venue's strings and the domain's enums, both ways), its error-code table,
its client library's quirks (signing, session set-up), its stream topics and handshake.
"""
