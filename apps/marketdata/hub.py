"""The quote hub: one per Daphne process, handing each symbol's newest row to the dashboards that follow it.

Going through the channel layer per symbol and per client costs a Redis round trip per message and,
in memory, a scan of every queue per send; at a whole market's tick rate that is the bottleneck
(docs/performance.md). Instead the worker link publishes one compact message per fan-out with every
symbol due; each process's hub receives it once, renders a row only for symbols one of its dashboards
follows (once, whatever the number of followers) and calls those followers, which keep only the
newest row per symbol. Across processes the message travels over Redis pub/sub when REDIS_URL is
set; in the embedded default everything is one process and the hub is called directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from urllib.parse import urlparse

import orjson
from django.conf import settings

from apps.marketdata.fanout import Quote, render_quote

log = logging.getLogger(__name__)
CHANNEL = "quotes.v2"  # v2: compact quotes, rendered by each process
Follower = Callable[[str, str], None]

_followers: dict[str, set[Follower]] = defaultdict(set)
_listener: asyncio.Task[None] | None = None
_redis: dict[asyncio.AbstractEventLoop, object] = {}


def follow(codes: set[str], follower: Follower) -> None:
    for code in codes:
        _followers[code].add(follower)
    _ensure_listener()


def unfollow(codes: set[str], follower: Follower) -> None:
    for code in codes:
        followers = _followers.get(code)
        if followers is not None:
            followers.discard(follower)
            if not followers:
                del _followers[code]


def deliver(quotes: dict[str, Quote]) -> None:
    """Hand rows to this process's followers (synchronous: followers only store and schedule)."""
    for code, quote in quotes.items():
        followers = _followers.get(code)
        if not followers:
            continue
        html = render_quote(code, quote)
        for follower in tuple(followers):
            try:
                follower(code, html)
            except Exception:
                log.exception("quote follower failed for %s", code)


async def publish(quotes: dict[str, Quote]) -> None:
    """From the worker link: one message per fan-out to every Daphne process (or straight to this one)."""
    if not quotes:
        return
    if not settings.REDIS_URL:
        deliver(quotes)
        return
    try:
        await _client().publish(channel(), orjson.dumps(quotes))
    except Exception:
        log.exception("publishing %s quotes failed; the next fan-out carries newer values", len(quotes))


def channel() -> str:
    """Pub/sub channels ignore Redis's database number, so two deployments sharing one server (paper and
    staging, or parallel test runs) would receive each other's quotes; the number keeps them apart."""
    database = urlparse(settings.REDIS_URL).path.strip("/") or "0"
    return f"{CHANNEL}:{database}"


def _client():
    # One client per event loop: an asyncio Redis connection cannot move between loops.
    loop = asyncio.get_running_loop()
    if loop not in _redis:
        import redis.asyncio as aioredis

        _redis[loop] = aioredis.from_url(settings.REDIS_URL)
    return _redis[loop]


def _ensure_listener() -> None:
    global _listener
    if not settings.REDIS_URL or (_listener is not None and not _listener.done()):
        return
    _listener = asyncio.get_running_loop().create_task(_listen(), name="quote-hub")


async def _listen() -> None:
    while True:
        try:
            pubsub = _client().pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(channel())
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    deliver(orjson.loads(message["data"]))
        except asyncio.CancelledError:
            raise
        except Exception:
            # Quotes are conflated state, not events: after a reconnect the next cycle brings newer ones.
            log.exception("quote hub lost Redis; resubscribing")
            with contextlib.suppress(Exception):
                await asyncio.sleep(1)
