"""The methods that belong to a connection: auth, subscriptions, heartbeats,
cancel-on-disconnect and logout.

Heartbeats: ``public/set_heartbeat {interval}`` (seconds, at least 10) makes the server
send ``{"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "test_request"}}``
every interval; a client that has not answered the previous one with ``public/test``
when the next is due is disconnected (its cancel-on-disconnect fires). `unit_ms` is how
long one interval second lasts (1000; tests shorten it).

Cancel-on-disconnect: ``private/enable_cancel_on_disconnect {scope}``, ``connection``
(the default: this connection only; WebSocket only, 10030 over HTTP) or ``account``
(every new connection of the account starts with it on; allowed over HTTP). When the
connection closes, misses a heartbeat or stays silent for `inactivity_ms` (10 min), the
orders created on it that are still open are cancelled with cancel_reason
``cancel_on_disconnect``. ``private/logout`` closes the connection without firing it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from console.sim.deribit import params as p
from console.sim.deribit import subscriptions
from console.sim.deribit.auth import TokenStore
from console.sim.deribit.codes import UNAUTHORIZED, DeribitError, invalid_param
from console.sim.deribit.rpc import Context
from console.sim.deribit.views import Views

if TYPE_CHECKING:
    from console.sim.deribit.ws import DeribitSession

MIN_HEARTBEAT_S: Final = 10
DEFAULT_INACTIVITY_MS: Final = 600_000
MUST_BE_WEBSOCKET: Final = 10030
SCOPES: Final = ("connection", "account")


@dataclass(slots=True)
class DeadMan:
    """Which accounts have account-scope cancel-on-disconnect on."""

    accounts: set[str] = field(default_factory=set)


class ConnectionMethods:
    def __init__(self, tokens: TokenStore, views: Views, dead_man: DeadMan,
                 clock: Callable[[], int]) -> None:
        self.tokens = tokens
        self.views = views
        self.dead_man = dead_man
        self.clock = clock

    @staticmethod
    def _session(ctx: Context) -> DeribitSession:
        if ctx.session is None:
            raise DeribitError(MUST_BE_WEBSOCKET, "must_be_websocket_request")
        return ctx.session

    def auth(self, ctx: Context) -> dict[str, Any]:
        key, answer = self.tokens.grant(ctx.params, ctx.now_ms)
        if ctx.session is not None:
            ctx.session.login(key)
        return answer

    def subscribe_private(self, ctx: Context) -> list[str]:
        session = self._session(ctx)
        if session.key is None:
            raise DeribitError(UNAUTHORIZED)
        return session.subscribe(self._channels(ctx), private=True)

    def subscribe_public(self, ctx: Context) -> list[str]:
        # user.* channels need private/subscribe; the sim serves no public channel
        return self._session(ctx).subscribe(self._channels(ctx), private=False)

    def unsubscribe(self, ctx: Context) -> list[str]:
        return self._session(ctx).unsubscribe(self._channels(ctx))

    def unsubscribe_all(self, ctx: Context) -> str:
        self._session(ctx).unsubscribe(None)
        return "ok"

    def _channels(self, ctx: Context) -> list[str]:
        channels = ctx.params.get("channels")
        if not isinstance(channels, list) or not channels:
            raise invalid_param("channels")
        return [str(c) for c in channels]

    def parse(self, name: str) -> subscriptions.Channel | None:
        return subscriptions.parse(name, self.views)

    def set_heartbeat(self, ctx: Context) -> str:
        interval = p.integer(ctx.params, "interval")
        if interval is None:
            raise invalid_param("interval")
        if interval < MIN_HEARTBEAT_S:
            raise invalid_param("interval", f"must be at least {MIN_HEARTBEAT_S}")
        self._session(ctx).start_heartbeat(interval, ctx.now_ms)
        return "ok"

    def disable_heartbeat(self, ctx: Context) -> str:
        self._session(ctx).stop_heartbeat()
        return "ok"

    def test(self, ctx: Context) -> dict[str, Any]:
        if ctx.session is not None:
            ctx.session.heartbeat_answered()
        return {"version": "1.2.26"}

    def _scope(self, ctx: Context) -> str:
        scope = p.choice(ctx.params, "scope", SCOPES, "connection")
        if scope == "connection":
            self._session(ctx)
        return scope

    def enable_cancel_on_disconnect(self, ctx: Context) -> str:
        if self._scope(ctx) == "account":
            self.dead_man.accounts.add(ctx.account)
        if ctx.session is not None:
            ctx.session.cancel_on_disconnect = True
        return "ok"

    def disable_cancel_on_disconnect(self, ctx: Context) -> str:
        if self._scope(ctx) == "account":
            self.dead_man.accounts.discard(ctx.account)
        if ctx.session is not None:
            ctx.session.cancel_on_disconnect = False
        return "ok"

    def get_cancel_on_disconnect(self, ctx: Context) -> dict[str, Any]:
        scope = self._scope(ctx)
        if scope == "account":
            enabled = ctx.account in self.dead_man.accounts
        else:
            enabled = self._session(ctx).cancel_on_disconnect
        return {"scope": scope, "enabled": enabled}

    def logout(self, ctx: Context) -> str:
        session = self._session(ctx)
        if p.flag(ctx.params, "invalidate_token", True) and session.key is not None:
            self.tokens.revoke_all(session.key)
        session.logout()
        return "ok"
