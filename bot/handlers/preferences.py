from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.conversation import Conversation
from bot.handlers.callbacks import LanguageChoice, LookChoice, MimicChoice, VoiceChoice
from bot.i18n import Translator
from bot.services import UserStore
from bot.workers import VoiceCatalog
from core.contract import LOOKS, MIMIC_LEVELS
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


def choice_keyboard(
    t: Translator,
    names: str,
    options: Sequence[str],
    current: str,
    data: Callable[[str], CallbackData],
    per_row: int,
) -> InlineKeyboardMarkup:
    """One button per option, labelled ``{names}.{option}``, the user's current one marked."""
    keyboard = InlineKeyboardBuilder()
    for option in options:
        label = t(f"{names}.{option}")
        text = t(f"{names.split('.')[0]}.current", name=label) if option == current else label
        keyboard.button(text=text, callback_data=data(option))
    markup = keyboard.adjust(per_row).as_markup()
    assert isinstance(markup, InlineKeyboardMarkup)
    return markup


def mimic_keyboard(t: Translator, current: str) -> InlineKeyboardMarkup:
    """Calm and lively, in one row."""
    return choice_keyboard(
        t, "mimic.level", MIMIC_LEVELS, current, lambda level: MimicChoice(level=level), 2
    )


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


def look_keyboard(t: Translator, current: str) -> InlineKeyboardMarkup:
    """The photo and the drawings, two a row."""
    return choice_keyboard(t, "look.name", LOOKS, current, lambda name: LookChoice(name=name), 2)


async def pick_look(message: Message, t: Translator, users: UserStore) -> None:
    assert message.from_user is not None
    current = (await users.preferences(message.from_user.id)).look
    await message.answer(t("look.pick"), reply_markup=look_keyboard(t, current))


async def look_chosen(
    query: CallbackQuery,
    callback_data: LookChoice,
    t: Translator,
    users: UserStore,
    conversation: Conversation,
) -> None:
    name = callback_data.name
    if name not in LOOKS:  # a forged button, or one from a newer bot
        await query.answer(t("look.unknown"), show_alert=True)
        return
    before = (await users.preferences(query.from_user.id)).look
    await users.set_preference(query.from_user.id, "look", name)
    drawn = await conversation.look_for(query.from_user.id)  # the operator may require a drawing
    if drawn == name:
        await query.answer(t(f"look.chosen.{name}"))
    else:
        await query.answer(t("look.required", look=t(f"look.name.{drawn}")), show_alert=True)
    if name != before and isinstance(query.message, Message):  # the mark moves to the choice
        await query.message.edit_reply_markup(reply_markup=look_keyboard(t, name))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(pick_voice, Command("voice"))
    router.callback_query.register(voice_chosen, VoiceChoice.filter())
    router.message.register(pick_mimic, Command("mimic"))
    router.callback_query.register(mimic_chosen, MimicChoice.filter(F.level.in_(MIMIC_LEVELS)))
    router.message.register(pick_look, Command("look"))
    router.callback_query.register(look_chosen, LookChoice.filter())
    router.message.register(pick_language, Command("lang"))
    router.callback_query.register(language_chosen, LanguageChoice.filter(F.code.in_(LANGUAGES)))
    return router
