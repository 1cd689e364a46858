"""The embedded engine's voices by id and display name; plain data, so the bot can show them
without importing an engine."""

from __future__ import annotations

ESPEAK_VOICES: dict[str, str] = {
    "ru-male": "Борис",
    "ru-male-low": "Глеб",
    "ru-female": "Алёна",
    "ru-female-soft": "Вера",
}
