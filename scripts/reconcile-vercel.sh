#!/usr/bin/env bash
# Apply a project's Vercel environment variables (the brief's script).
# Usage: ./scripts/reconcile-vercel.sh PROJECT [true]    (second argument true = dry run)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ $# -lt 1 ]; then
  echo "usage: $0 PROJECT [true]" >&2
  exit 64  # converge's usage-error code (2 means "changes")
fi
project="$1"
dry="${2:-false}"
args=(apply "$project" --system vercel)
if [ "$dry" = "true" ]; then
  args+=(--dry-run)
fi
python="$(command -v python3)"
[ -x "$here/../.venv/bin/python" ] && python="$here/../.venv/bin/python"
exec "$python" -c 'import sys; sys.path.insert(0, sys.argv[1]); from _converge_entry import run; run(sys.argv[2:])' "$here" "${args[@]}"
