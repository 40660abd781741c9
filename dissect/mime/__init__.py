"""Shared MIME parsing (stdlib email behind one guarded helper)."""
