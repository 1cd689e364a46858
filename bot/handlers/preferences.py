from __future__ import annotations

import contextlib

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.handlers.callbacks import LanguageChoice, MimicChoice, VoiceChoice
from bot.i18n import Translator
from bot.services import UserStore
from bot.workers import VoiceCatalog
from core.contract import MIMIC_LEVELS
from locales import LANGUAGES


async def pick_voice(message: Message, t: Translator, voices: VoiceCatalog) -> None:
    keyboard = InlineKeyboardBuilder()
    for voice in await voices.options():
        keyboard.button(text=voice.name, callback_data=VoiceChoice(id=voice.id))
    await message.answer(t("voice.pick"), reply_markup=keyboard.adjust(2).as_markup())


async def voice_chosen(
    query: CallbackQuery,
    callback_data: VoiceChoice,
    t: Translator,
    users: UserStore,
    voices: VoiceCatalog,
) -> None:
    name = await voices.name_of(callback_data.id)
    if name is None:  # a keyboard from before the workers changed engines
        await query.answer(t("error.voice_unknown"), show_alert=True)
        return
    await users.set_preference(query.from_user.id, "voice", callback_data.id)
    await query.answer(t("voice.chosen", name=name))


async def pick_language(message: Message, t: Translator) -> None:
    keyboard = InlineKeyboardBuilder()
    for code, label in (("ru", "Русский"), ("en", "English")):
        keyboard.button(text=label, callback_data=LanguageChoice(code=code))
    await message.answer(t("lang.pick"), reply_markup=keyboard.as_markup())


async def language_chosen(
    query: CallbackQuery, callback_data: LanguageChoice, users: UserStore
) -> None:
    await users.set_preference(query.from_user.id, "language", callback_data.code)
    await query.answer(Translator(callback_data.code)("lang.chosen"))


def mimic_keyboard(t: Translator, current: str) -> InlineKeyboardMarkup:
    """Calm and lively, the user's current choice marked."""
    keyboard = InlineKeyboardBuilder()
    for level in MIMIC_LEVELS:
        label = t(f"mimic.level.{level}")
        text = t("mimic.current", name=label) if level == current else label
        keyboard.button(text=text, callback_data=MimicChoice(level=level))
    markup = keyboard.as_markup()
    assert isinstance(markup, InlineKeyboardMarkup)
    return markup


async def pick_mimic(message: Message, t: Translator, users: UserStore) -> None:
    assert message.from_user is not None
    current = (await users.preferences(message.from_user.id)).mimic
    await message.answer(t("mimic.pick"), reply_markup=mimic_keyboard(t, current))


async def mimic_chosen(
    query: CallbackQuery, callback_data: MimicChoice, t: Translator, users: UserStore
) -> None:
    level = callback_data.level
    before = (await users.preferences(query.from_user.id)).mimic
    await users.set_preference(query.from_user.id, "mimic", level)
    await query.answer(t(f"mimic.chosen.{level}"))
    if level != before and isinstance(query.message, Message):  # the mark moves to the choice
        with contextlib.suppress(TelegramBadRequest):  # a press just before moved it already
            await query.message.edit_reply_markup(reply_markup=mimic_keyboard(t, level))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(pick_voice, Command("voice"))
    router.callback_query.register(voice_chosen, VoiceChoice.filter())
    router.message.register(pick_mimic, Command("mimic"))
    router.callback_query.register(mimic_chosen, MimicChoice.filter(F.level.in_(MIMIC_LEVELS)))
    router.message.register(pick_language, Command("lang"))
    router.callback_query.register(language_chosen, LanguageChoice.filter(F.code.in_(LANGUAGES)))
    return router
