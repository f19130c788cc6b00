"""Emulator of the supabase API."""
