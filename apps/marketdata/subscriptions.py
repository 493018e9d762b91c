"""Reference-counted real-time subscriptions: one per symbol and mode, registered with that mode's worker.

A symbol is subscribed while anything needs it: a watchlist entry, an open position. Nothing stays
registered that nobody watches, and everything is registered again when a worker (re)connects.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F

from apps.accounts.models import User, Worker
from apps.marketdata.models import Subscription, Symbol, Watch
from kiwoom_worker import protocol

log = logging.getLogger(__name__)


class UnknownSymbol(Exception):
    pass


def _modes_of(user: User) -> set[str]:
    return set(user.broker_accounts.values_list("mode", flat=True)) or {"paper"}


def add_ref(*, symbol: str, mode: str) -> None:
    with transaction.atomic():
        sub, _ = Subscription.objects.select_for_update().get_or_create(symbol_id=symbol, mode=mode)
        sub.refs = F("refs") + 1
        sub.save(update_fields=["refs", "updated_at"])
        sub.refresh_from_db(fields=["refs"])
        if sub.refs == 1:
            _tell_worker(mode, protocol.SUBSCRIBE, [symbol])


def remove_ref(*, symbol: str, mode: str) -> None:
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().filter(symbol_id=symbol, mode=mode, refs__gt=0).first()
        if sub is None:
            return
        sub.refs -= 1
        sub.save(update_fields=["refs", "updated_at"])
        if sub.refs == 0:
            _tell_worker(mode, protocol.UNSUBSCRIBE, [symbol])


def watch(*, user: User, symbol: str) -> Watch:
    code = symbol.strip().upper()
    if not Symbol.objects.filter(pk=code).exists():
        raise UnknownSymbol(code)
    with transaction.atomic():
        entry, created = Watch.objects.get_or_create(user=user, symbol_id=code)
        if created:
            for mode in _modes_of(user):
                add_ref(symbol=code, mode=mode)
    return entry


def unwatch(*, user: User, symbol: str) -> None:
    with transaction.atomic():
        deleted, _ = Watch.objects.filter(user=user, symbol_id=symbol).delete()
        if deleted:
            for mode in _modes_of(user):
                remove_ref(symbol=symbol, mode=mode)


def position_opened(*, symbol: str, mode: str) -> None:
    if Symbol.objects.filter(pk=symbol).exists():
        add_ref(symbol=symbol, mode=mode)


def position_closed(*, symbol: str, mode: str) -> None:
    remove_ref(symbol=symbol, mode=mode)


def active_symbols(mode: str) -> list[str]:
    return sorted(Subscription.objects.filter(mode=mode, refs__gt=0).values_list("symbol_id", flat=True))


def resubscribe(worker: Worker) -> None:
    """After a (re)connect the broker session has no registrations: send the whole active set."""
    symbols = active_symbols(worker.mode)
    if symbols and worker.channel_name:
        _send(worker.channel_name, protocol.SUBSCRIBE, symbols)


def _tell_worker(mode: str, name: str, symbols: list[str]) -> None:
    channels = list(
        Worker.objects.filter(mode=mode, reported_server=mode, revoked_at__isnull=True).exclude(channel_name="").values_list("channel_name", flat=True)
    )
    for channel in channels:
        transaction.on_commit(lambda channel=channel: _send(channel, name, symbols))


def _send(channel: str, name: str, symbols: list[str]) -> None:
    from apps.orders.notify import send_to_worker

    send_to_worker(channel, protocol.command(command_id=protocol.new_id(), name=name, args={"symbols": symbols}))
