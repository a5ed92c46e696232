#!/usr/bin/env bash
# `make dev`: the Worker under `wrangler dev` (local D1 and KV) and, unless EXAMPLE=0, the
# example login & consent app (examples/login-consent) on PORT+1, wired together. Ctrl-C stops
# both.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8787}"
EXAMPLE_PORT="${EXAMPLE_PORT:-$((PORT + 1))}"
ISSUER="http://127.0.0.1:${PORT}"
export WRANGLER_SEND_METRICS=false

vars=(--var "URLS_SELF_ISSUER:${ISSUER}")
if [ "${EXAMPLE:-1}" != "0" ]; then
  token="$(sed -n 's/^ADMIN_API_TOKEN=//p' .dev.vars)"
  PORT="$EXAMPLE_PORT" HYDRA_ADMIN_URL="$ISSUER" HYDRA_ADMIN_TOKEN="$token" \
    node examples/login-consent/server.mjs &
  app=$!
  trap 'kill "$app" 2>/dev/null || true' EXIT INT TERM
  vars+=(--var "URLS_LOGIN:http://127.0.0.1:${EXAMPLE_PORT}/login" --var "URLS_CONSENT:http://127.0.0.1:${EXAMPLE_PORT}/consent")
  echo "dev: example login & consent app on http://127.0.0.1:${EXAMPLE_PORT}/ (start a demo flow there)"
fi
echo "dev: hydra-edge on ${ISSUER} (admin token: ADMIN_API_TOKEN in .dev.vars)"
node node_modules/wrangler/bin/wrangler.js dev --ip 127.0.0.1 --port "$PORT" "${vars[@]}"
