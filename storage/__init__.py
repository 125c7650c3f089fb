"""Persistence: the schema, the engine and session factory, and the migrations."""
