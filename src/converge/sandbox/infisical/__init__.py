"""Emulator of the infisical API."""
