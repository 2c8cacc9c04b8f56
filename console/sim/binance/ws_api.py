"""The spot WebSocket API session (``/ws-api/v3``): user-data subscriptions and the
session methods around them, as web-socket-api.md describes them.

Requests are JSON text frames ``{"id", "method", "params"}`` (``id`` an int, a string or
null, echoed back; a method may carry a ``v3/`` prefix). Answers are ``{"id", "status":
200, "result", "rateLimits"}`` or ``{"id", "status": 4xx, "error": {"code", "msg"},
"rateLimits"}`` (``rateLimits`` left out when the connection URL says
``returnRateLimits=false``). Methods served:

* ``ping`` → ``{}``; ``time`` → ``{"serverTime"}``.
* ``userDataStream.subscribe.signature`` ``{apiKey, timestamp, recvWindow?, signature}``:
  HMAC-SHA256 (hex, any case) with the key's secret over every param but ``signature``,
  sorted by name and joined as ``name=value&...`` → ``{"subscriptionId": N}`` (N counts
  from 0 per connection).
* ``session.logon`` (same signed params), ``session.status``, ``session.logout``,
  ``userDataStream.subscribe`` (for the logged-on key), ``session.subscriptions``,
  ``userDataStream.unsubscribe`` ``{subscriptionId?}`` (none: all).

Each event of a live subscription arrives as ``{"subscriptionId": N, "event": {...}}``
(``executionReport``, ``outboundAccountPosition``, ``balanceUpdate``); the end of a
subscription (unsubscribe, logout) as its ``eventStreamTerminated`` event.

Where the sim differs from Binance (each said again where it happens): ``session.logon``
accepts the sim's HMAC keys (Binance takes Ed25519 keys only); one connection serves one
account (Binance allows a subscription per account on one connection: a second account is
refused with -1020); the weight in ``rateLimits`` is counted per connection, per minute of
the sim clock, and never enforced.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Final

from aiohttp import web

from console.sim.binance import events as ev
from console.sim.binance.connection import MAX_CONNECTION_AGE_S, BinanceSession
from console.sim.binance.pushes import Market, Push
from console.sim.protocol.hub import EventHub
from console.sim.protocol.keys import ApiKey, KeyStore
from console.sim.protocol.wire import JsonObj

API_PING_S: Final = 20.0
DEFAULT_RECV_WINDOW: Final = Decimal(5000)
MAX_RECV_WINDOW: Final = Decimal(60000)
WEIGHT_LIMIT: Final = 6000
MAX_LIFETIME_SUBSCRIPTIONS: Final = 65535
_MICROS: Final = 10 ** 14  # a timestamp above this is in microseconds

RequestId = int | str | None


class WsApiError(Exception):
    """A request refused with Binance's status and error code."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status = status
        self.code = code
        self.msg = msg


def _mandatory(name: str) -> WsApiError:
    return WsApiError(400, -1102, f"Mandatory parameter '{name}' was not sent, was "
                                  "empty/null, or malformed.")


def _text(value: object) -> str:
    """A param as the client put it in the signed payload."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def signature_payload(params: Mapping[str, object]) -> str:
    """Every param but ``signature``, sorted by name, as ``name=value&...``."""
    return "&".join(f"{name}={_text(value)}" for name, value in sorted(params.items())
                    if name != "signature")


def sign(secret: str, params: Mapping[str, object]) -> str:
    return hmac.new(secret.encode(), signature_payload(params).encode(),
                    hashlib.sha256).hexdigest()


def verify_signed(params: Mapping[str, object], *, keys: KeyStore, now_ms: int) -> ApiKey:
    """The key that signed `params`, or the error Binance answers: -1102 (a mandatory
    param missing), -2015 (unknown key), -1021 (timestamp outside the window), -1022 (bad
    signature). A recvWindow above 60000 gets -1130 (UNVERIFIED: the docs give the limit,
    not the error)."""
    api_key, signature = params.get("apiKey"), params.get("signature")
    if not isinstance(api_key, str) or not api_key:
        raise _mandatory("apiKey")
    if not isinstance(signature, str) or not signature:
        raise _mandatory("signature")
    timestamp = params.get("timestamp")
    if isinstance(timestamp, str) and timestamp.isdigit():
        timestamp = int(timestamp)
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp <= 0:
        raise _mandatory("timestamp")
    window = params.get("recvWindow", DEFAULT_RECV_WINDOW)
    if not isinstance(window, int | Decimal) or isinstance(window, bool) \
            or not 0 < window <= MAX_RECV_WINDOW:
        raise WsApiError(400, -1130, "Data sent for parameter 'recvWindow' is not valid.")
    key = keys.get(api_key)
    if key is None:
        raise WsApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
    sent_ms = timestamp // 1000 if timestamp > _MICROS else timestamp
    if sent_ms >= now_ms + 1000:
        raise WsApiError(400, -1021, "Timestamp for this request was 1000ms ahead of the "
                                     "server's time.")
    if now_ms - sent_ms > window:
        raise WsApiError(400, -1021, "Timestamp for this request is outside of the "
                                     "recvWindow.")
    if not hmac.compare_digest(sign(key.secret, params), signature.lower()):
        raise WsApiError(400, -1022, "Signature for this request is not valid.")
    return key


Handler = Callable[["ApiSession", Mapping[str, object]], object]


class ApiSession(BinanceSession):
    """One ``/ws-api/v3`` connection."""

    def __init__(self, hub: EventHub[Push], ws: web.WebSocketResponse, request: web.Request,
                 conn_id: str, *, max_age_s: float = MAX_CONNECTION_AGE_S) -> None:
        super().__init__(hub, ws, request, conn_id, max_age_s=max_age_s)
        self.return_rate_limits = \
            request.query.get("returnRateLimits", "true").lower() != "false"
        self.logon: ApiKey | None = None
        self.authorized_since: int | None = None
        self.subscription: int | None = None
        self.subscription_by_logon = False
        self._next_subscription = 0
        self._minute = -1
        self._weight = 0

    # -- requests ----------------------------------------------------------------------

    def on_text(self, raw: str) -> None:
        try:
            message = json.loads(raw, parse_float=Decimal)
        except ValueError:
            self._error(None, WsApiError(400, -1135, "Invalid JSON Request"))
            return
        if not isinstance(message, dict):
            self._error(None, WsApiError(400, -1135, "Invalid JSON Request"))
            return
        req_id = message.get("id")
        if not isinstance(req_id, int | str) and req_id is not None:
            self._error(None, _mandatory("id"))
            return
        method, params = message.get("method"), message.get("params", {})
        if not isinstance(method, str) or not method:
            self._error(req_id, _mandatory("method"))
            return
        if not isinstance(params, dict):
            self._error(req_id, _mandatory("params"))
            return
        entry = METHODS.get(method.removeprefix("v3/"))
        if entry is None:  # UNVERIFIED: Binance's answer to an unknown method
            self._error(req_id, WsApiError(400, -1020, "This operation is not supported."))
            return
        handler, weight = entry
        self._count(weight)
        try:
            result = handler(self, params)
        except WsApiError as exc:
            self._error(req_id, exc)
            return
        body: JsonObj = {"id": req_id, "status": 200, "result": result}
        self._limits(body)
        self.reply(body)

    def _error(self, req_id: RequestId, exc: WsApiError) -> None:
        body: JsonObj = {"id": req_id, "status": exc.status,
                         "error": {"code": exc.code, "msg": exc.msg}}
        self._limits(body)
        self.reply(body)

    def _count(self, weight: int) -> None:
        minute = self.hub.clock() // 60_000
        if minute != self._minute:
            self._minute, self._weight = minute, 0
        self._weight += weight

    def _limits(self, body: JsonObj) -> None:
        if self.return_rate_limits:
            body["rateLimits"] = [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                                   "intervalNum": 1, "limit": WEIGHT_LIMIT,
                                   "count": self._weight}]

    # -- methods -----------------------------------------------------------------------

    def ping(self, params: Mapping[str, object]) -> JsonObj:
        return {}

    def time(self, params: Mapping[str, object]) -> JsonObj:
        return {"serverTime": self.hub.clock()}

    def _status(self) -> JsonObj:
        return {"apiKey": None if self.logon is None else self.logon.key,
                "authorizedSince": self.authorized_since,
                "connectedSince": self.connected_since,
                "returnRateLimits": self.return_rate_limits,
                "serverTime": self.hub.clock(),
                "userDataStream": self.subscription is not None}

    def session_logon(self, params: Mapping[str, object]) -> JsonObj:
        """Binance takes Ed25519 keys only here; the sim's keys are HMAC and are taken
        (a sim leniency, so that logon-style clients can be tested at all)."""
        self.logon = verify_signed(params, keys=self.hub.keys, now_ms=self.hub.clock())
        self.authorized_since = self.hub.clock()
        return self._status()

    def session_status(self, params: Mapping[str, object]) -> JsonObj:
        return self._status()

    def session_logout(self, params: Mapping[str, object]) -> JsonObj:
        if self.subscription is not None and self.subscription_by_logon:
            self._terminate()
        self.logon, self.authorized_since = None, None
        return self._status()

    def session_subscriptions(self, params: Mapping[str, object]) -> list[JsonObj]:
        return [] if self.subscription is None else [{"subscriptionId": self.subscription}]

    def subscribe_signature(self, params: Mapping[str, object]) -> JsonObj:
        key = verify_signed(params, keys=self.hub.keys, now_ms=self.hub.clock())
        return self._subscribe(key, by_logon=False)

    def subscribe_logon(self, params: Mapping[str, object]) -> JsonObj:
        if self.logon is None:  # UNVERIFIED: the code Binance answers without a logon
            raise WsApiError(401, -1002, "You are not authorized to execute this request.")
        return self._subscribe(self.logon, by_logon=True)

    def _subscribe(self, key: ApiKey, *, by_logon: bool) -> JsonObj:
        if self.key is not None and self.key.account != key.account:
            # the sim serves one account per connection (Binance: one subscription per
            # account, several accounts per connection)
            raise WsApiError(400, -1020, "This operation is not supported.")
        if self.subscription is not None:
            raise WsApiError(400, -2035, "User Data Stream subscription already active.")
        if self._next_subscription >= MAX_LIFETIME_SUBSCRIPTIONS:
            raise WsApiError(400, -1020, "This operation is not supported.")  # UNVERIFIED
        self.subscription = self._next_subscription
        self._next_subscription += 1
        self.subscription_by_logon = by_logon
        if self.key is None:
            self.authenticated(key)
        return {"subscriptionId": self.subscription}

    def unsubscribe(self, params: Mapping[str, object]) -> JsonObj:
        wanted = params.get("subscriptionId")
        if wanted is not None:
            if not isinstance(wanted, int) or isinstance(wanted, bool):
                raise WsApiError(400, -1130, "Data sent for parameter 'subscriptionId' is "
                                             "not valid.")
            if wanted != self.subscription:
                raise WsApiError(400, -2036, "User Data Stream subscription not active.")
        if self.subscription is not None:
            self._terminate()
        return {}

    def _terminate(self) -> None:
        """End the subscription: its last push is ``eventStreamTerminated``."""
        assert self.subscription is not None
        event = ev.event_stream_terminated(event_time=self.hub.clock())
        self.push(json.dumps(ev.subscription_event(self.subscription, event)),
                  "eventStreamTerminated")
        self.subscription = None

    # -- pushes ------------------------------------------------------------------------

    def offer(self, pushes: Sequence[Push]) -> None:
        subscription = self.subscription
        if subscription is None or self.closing:
            return
        for push in pushes:
            if push.market is Market.SPOT:
                self.push(json.dumps(ev.subscription_event(subscription, push.event)),
                          push.topic)


METHODS: Final[Mapping[str, tuple[Handler, int]]] = {
    "ping": (ApiSession.ping, 1),
    "time": (ApiSession.time, 1),
    "session.logon": (ApiSession.session_logon, 2),
    "session.status": (ApiSession.session_status, 2),
    "session.logout": (ApiSession.session_logout, 2),
    "session.subscriptions": (ApiSession.session_subscriptions, 2),
    "userDataStream.subscribe": (ApiSession.subscribe_logon, 2),
    "userDataStream.subscribe.signature": (ApiSession.subscribe_signature, 2),
    "userDataStream.unsubscribe": (ApiSession.unsubscribe, 2),
}

__all__ = ["API_PING_S", "METHODS", "ApiSession", "WsApiError", "sign", "signature_payload",
           "verify_signed"]
