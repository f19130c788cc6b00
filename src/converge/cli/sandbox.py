"""``converge sandbox …``: run, inspect and reset the local vendor emulators."""

from __future__ import annotations

import click


@click.group()
def sandbox() -> None:
    """Run the local Infisical, Vercel and Supabase emulators."""
