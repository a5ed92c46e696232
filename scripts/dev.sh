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
  app_url="http://127.0.0.1:${EXAMPLE_PORT}"
  vars+=(--var "URLS_LOGIN:${app_url}/login" --var "URLS_CONSENT:${app_url}/consent"
    --var "URLS_LOGOUT:${app_url}/logout" --var "URLS_POST_LOGOUT_REDIRECT:${app_url}/logged-out"
    --var "URLS_DEVICE_VERIFICATION:${app_url}/device" --var "URLS_DEVICE_SUCCESS:${app_url}/device/done")
  echo "dev: example login & consent app on http://127.0.0.1:${EXAMPLE_PORT}/ (start a demo flow there)"
fi
echo "dev: hydra-edge on ${ISSUER} (admin token: ADMIN_API_TOKEN in .dev.vars)"
# wrangler.local.toml (written by `make build`) has no build watcher, so the Worker starts once;
# WATCH=1 uses wrangler.toml, whose watcher rebuilds and reloads on every change under src/
# (and once right after the start).
config=wrangler.local.toml
if [ "${WATCH:-0}" = "1" ]; then
  config=wrangler.toml
  echo "dev: rebuilding on changes under src/"
fi
node node_modules/wrangler/bin/wrangler.js dev --config "$config" --ip 127.0.0.1 --port "$PORT" "${vars[@]}"
