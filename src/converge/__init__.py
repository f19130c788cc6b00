"""converge: keep Infisical, Vercel and Supabase exactly as a Git repository says."""

__version__ = "0.1.0"
