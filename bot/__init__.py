"""The Telegram bot (aiogram 3): takes requests, checks them and queues render jobs."""
