"""Roster Sync's review UI: a keyboard-driven terminal app over the engine's client interface."""
