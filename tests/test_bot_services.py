"""Handlers ask for services by name and type; every name must be a ``BotServices`` field of
that type (or something aiogram itself provides), so a typo or a stale type fails here, not
at the first update in production."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterator
from dataclasses import fields

from aiogram import Router

from bot.factory import BotServices
from bot.handlers import root_router

# What aiogram (or our language middleware) puts in every handler's data.
PROVIDED = {"t", "state", "bot", "event_from_user", "event_chat", "callback_data", "command"}


def handlers(router: Router) -> Iterator[Callable[..., object]]:
    for observer in router.observers.values():
        for handler in observer.handlers:
            yield handler.callback
    for child in router.sub_routers:
        yield from handlers(child)


def test_every_handler_parameter_is_a_typed_service() -> None:
    services = {field.name: field.type for field in fields(BotServices)}
    hints = typing.get_type_hints(BotServices)
    checked = 0
    for callback in handlers(root_router(frozenset())):
        _event, *rest = inspect.signature(callback).parameters.values()
        wanted = typing.get_type_hints(callback)
        for parameter in rest:
            if parameter.name in PROVIDED:
                continue
            assert parameter.name in services, f"{callback.__qualname__}: {parameter.name}"
            assert wanted[parameter.name] is hints[parameter.name], callback.__qualname__
            checked += 1
    assert checked > 15  # the walk reached the handlers
