"""Emulator of the vercel API."""
