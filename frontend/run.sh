#!/usr/bin/env bash
# Start the MedSegText portal: Reflex in production mode, frontend and its backend on one port;
# the production build is redone only when what it is built from changed (prod_run.py).
#
#   frontend/run.sh                     # http://127.0.0.1:3000, API at http://127.0.0.1:8000
#   MEDSEGTEXT_API_URL=http://api:8000 MEDSEGTEXT_PORTAL_PORT=3000 frontend/run.sh
#   frontend/run.sh --setup-only        # install what is missing, then exit
#   frontend/run.sh --build-only        # ... and make the production build, then exit (images)
#
# On a fresh machine it needs python3 (3.11+) and npm (any Node >= 18) with access to PyPI and
# the npm registry: it makes frontend/.venv (reflex) and installs bun from npm into
# frontend/.tools. Both are git-ignored and reused by later starts.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="$HERE/.venv"
TOOLS="$HERE/.tools"
BUN_VERSION="1.4.5"
PORT="${MEDSEGTEXT_PORTAL_PORT:-3000}"
HOST="${MEDSEGTEXT_PORTAL_HOST:-127.0.0.1}"

log() { printf '[portal] %s\n' "$*" >&2; }

stamp="$VENV/.installed-$(sha1sum "$HERE/requirements.txt" | cut -c1-10)"
if [ ! -f "$stamp" ]; then
  log "installing the portal's Python packages into $VENV"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  # -P: not the working directory on sys.path, where pip would find the project's own
  # medsegtext.egg-info and complain that the API's dependencies are missing from this venv
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -P -m pip install -q -r "$HERE/requirements.txt"
  rm -f "$VENV"/.installed-* && touch "$stamp"
fi

# MEDSEGTEXT_PREBUILT_PORTAL=1 (the portal image): the build is in place and nothing is built
# at start (prod_run.py), so no bun either.
if [ "${MEDSEGTEXT_PREBUILT_PORTAL:-}" != 1 ] && { [ ! -x "$TOOLS/node_modules/.bin/bun" ] \
    || [ "$("$TOOLS/node_modules/.bin/bun" --version 2>/dev/null)" != "$BUN_VERSION" ]; }; then
  log "installing bun $BUN_VERSION from the npm registry into $TOOLS"
  npm install --no-save --no-fund --no-audit --no-update-notifier --loglevel=error \
    --prefix "$TOOLS" \
    "bun@$BUN_VERSION" >&2
fi

# reflex.lock/package.json is not tracked (Reflex rewrites it on every run): derive it from the
# tracked bun.lock, which Reflex's frozen install checks it against.
"$PYTHON" "$HERE/reflex_lock.py"

[ "${1:-}" = "--setup-only" ] && exit 0

export PATH="$TOOLS/node_modules/.bin:$VENV/bin:$PATH"
export NPM_CONFIG_REGISTRY="${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org/}"
export REFLEX_TELEMETRY_ENABLED=false
export MEDSEGTEXT_API_URL="${MEDSEGTEXT_API_URL:-http://127.0.0.1:8000}"
# The browser reaches the portal's own backend (websocket, uploads, /media) on this port of
# whatever host it loaded the page from ("localhost" is replaced by the page's host name).
export REFLEX_API_URL="${REFLEX_API_URL:-http://localhost:$PORT}"
export REFLEX_DEPLOY_URL="${REFLEX_DEPLOY_URL:-http://localhost:$PORT}"
unset REFLEX_REDIS_URL  # one worker with in-memory sessions (see rxconfig.py)

cd "$HERE"
build_only=()
[ "${1:-}" = "--build-only" ] && build_only=(--build-only)
exec "$VENV/bin/python" "$HERE/prod_run.py" "${build_only[@]}" run --env prod --frontend-port "$PORT" \
  --backend-host "$HOST" --loglevel "${MEDSEGTEXT_PORTAL_LOGLEVEL:-info}"
