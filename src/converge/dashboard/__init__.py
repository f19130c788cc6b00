"""The dashboard: a read-only web page of every project, built from the journal.

Installed with the extra ``converge[dashboard]`` (starlette, Jinja2, uvicorn); the only
package of converge allowed to import them (``.importlinter``). The CLI loads
``converge.dashboard.facade`` by name (``converge.cli.dashboard_loader``), so a plain
install works without these libraries and says how to add them when asked for the
dashboard.

    facade   what the CLI calls: serve the dashboard, or the watch's port with it
    app      the starlette application: routes, templates, error pages
    access   who may read it: loopback, or a token (bearer header or login cookie);
             read-only (GET and HEAD); security headers
    server   uvicorn in a background thread on a socket bound up front

The data comes from ``converge.ops.overview`` (no web dependency, tested on its own).
"""
