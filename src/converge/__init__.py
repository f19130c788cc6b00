"""converge: keep Infisical, Vercel and Supabase exactly as a Git repository says."""

from importlib.metadata import PackageNotFoundError, version

try:
    # The installed distribution's version (pyproject.toml), so `converge --version` and
    # what pip reports can never disagree.
    __version__ = version("converge")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
