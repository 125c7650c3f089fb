"""Persistence: the tables, queries, the outbox's claims, the spool and the migrations."""
