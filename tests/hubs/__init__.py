"""Loopback servers that speak the roster hubs' documented APIs, for the source tests."""
