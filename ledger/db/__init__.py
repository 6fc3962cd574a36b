"""Persistence: the tables, the engine for either backend, and schema migration."""
