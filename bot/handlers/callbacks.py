"""Callback data of the bot's inline keyboards."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class ConsentChoice(CallbackData, prefix="consent"):
    choice: str


class VoiceChoice(CallbackData, prefix="voice"):
    id: str


class LanguageChoice(CallbackData, prefix="lang"):
    code: str


class MimicChoice(CallbackData, prefix="mimic"):
    level: str


class LookChoice(CallbackData, prefix="look"):
    name: str
