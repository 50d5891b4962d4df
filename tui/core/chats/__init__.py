"""Conversations that last: a SQLite store in the data dir, a recorder that saves a reply as it
streams, and Markdown/JSON export. Shared by ``localai-tui chats``, ``chat --resume`` and the chat screen."""
