"""Emulator of the Infisical API (the parts converge and the vendor's clients use).

``app.create_app(world)`` serves it and ``seed.seed(world)`` creates the starting world
(``seed.exports`` logs the operator in for the printed ``INFISICAL_TOKEN``).
Modules by role: ``state`` (documents in the world store), ``folders`` (the folder tree
secrets live in), ``auth``/``auth_config`` (tokens and who is calling), ``access``/
``permissions`` (org roles, CASL project rules), ``permission_schema`` (role rules checked
as the service's zod schema), ``validation``/``errors`` (zod-style 422s and the vendor
error body), and one ``routes_*`` module per API area.
"""
