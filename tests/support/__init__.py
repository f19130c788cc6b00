"""Helpers shared by several test packages: in-process ASGI transports and rendered
desired states from the example workspace. Plain modules, not fixtures, so any conftest
can use them without depending on another test package."""
