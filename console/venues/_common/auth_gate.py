"""The credentials gate of one connector: after the venue refused our key or signature,
requests fail fast with the typed auth error instead of signing with the same secret
again and again.

Why: a wrong secret is refused by every request. Without a gate, the periodic
reconciliation keeps signing with it every interval (each refusal a fresh warning, and
on some venues a step towards an IP ban), while the private stream's refused login
tells nobody. With the gate, one refusal (REST or the stream's login) opens an
*episode*: it is logged once at ERROR (the text names the profile, never the secret),
and until the episode's next probe time every ordinary request raises `VenueAuthError`
at once, without reaching the venue. The wait doubles with each refusal in the episode
(`base_ms` to `max_ms`); after it, the next request goes out as a probe. Any accepted
authenticated request or stream login ends the episode.

What the gate does not hold back: priority-lane requests (an emergency stop is tried
whatever happened before; the caller decides), and refusals that are not about the
credentials (a permission missing for one endpoint, a clock out of the receive window).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from console.venues._common.clock import wall_clock_ms
from console.venues._common.errors import VenueAuthError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AuthEpisode:
    """Refusals since the credentials were last accepted."""

    reason: str
    """The first refusal's text (scrubbed by whoever reported it)."""
    refusals: int
    since: int
    retry_at: int
    """Local ms before which ordinary requests fail fast."""


class AuthGate:
    """Shared by a connector's REST calls (loop and worker threads) and its stream."""

    def __init__(self, venue: str, account: str, *, base_ms: int, max_ms: int,
                 clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        if base_ms < 0 or max_ms < base_ms:
            raise ValueError(f"auth gate: 0 <= base_ms ({base_ms}) <= max_ms ({max_ms})")
        self.venue = venue
        self.account = account
        self.base_ms = base_ms
        self.max_ms = max_ms
        self._clock_ms = clock_ms
        self._lock = threading.Lock()
        self._episode: AuthEpisode | None = None

    def __repr__(self) -> str:
        return f"AuthGate(venue={self.venue!r}, account={self.account!r})"

    @property
    def episode(self) -> AuthEpisode | None:
        return self._episode

    def refused(self, reason: str, *, source: str) -> AuthEpisode:
        """The venue refused the credentials (`source`: "REST" or "stream login").
        Logged at ERROR on the first refusal of an episode only."""
        now = self._clock_ms()
        with self._lock:
            previous = self._episode
            if previous is not None and now < previous.retry_at:
                return previous  # a request already in flight when the episode began
            refusals = 1 if previous is None else previous.refusals + 1
            wait = min(self.max_ms, self.base_ms << min(refusals - 1, 40))
            episode = AuthEpisode(previous.reason if previous else reason, refusals,
                                  previous.since if previous else now, now + wait)
            self._episode = episode
        if previous is None:
            log.error("%s %s: authentication was refused (%s: %s); requests now fail fast "
                      "until the credentials are accepted again (next try in %d s)",
                      self.venue, self.account, source, reason, wait // 1000)
        else:
            log.info("%s %s: authentication refused again (%s, %d in a row); next try in "
                     "%d s", self.venue, self.account, source, refusals, wait // 1000)
        return episode

    def accepted(self) -> None:
        """An authenticated request or login went through: the episode (if any) ends."""
        if self._episode is None:
            return
        with self._lock:
            ended, self._episode = self._episode, None
        if ended is not None:
            log.warning("%s %s: authentication accepted again after %d refusal(s)",
                        self.venue, self.account, ended.refusals)

    def check(self) -> None:
        """Raise `VenueAuthError` while an episode holds requests back."""
        episode = self._episode
        if episode is None:
            return
        now = self._clock_ms()
        if now >= episode.retry_at:
            return  # this request is the probe
        raise VenueAuthError(
            f"{self.venue}: authentication was refused ({episode.reason}); not signing "
            f"again for {(episode.retry_at - now + 999) // 1000} s", venue=self.venue,
            code="auth_refused")
