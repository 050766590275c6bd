"""The Telegram adapter: python-telegram-bot Application, handlers, HTML rendering and splitting, poster."""
