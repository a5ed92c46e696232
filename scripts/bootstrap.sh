#!/usr/bin/env bash
# Install what `make dev` and `make test` need on a machine that has Rust (rustup), Node >= 20.3
# and npm, skipping every step that is already done at the right version (a second run takes
# about a second). Versions come from Cargo.lock and package-lock.json, so the same commit
# always builds with the same tools.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

die() { echo "bootstrap: $*" >&2; exit 1; }
say() { echo "bootstrap: $*" >&2; }

command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs)"
command -v rustup >/dev/null || die "rustup not found: the wasm32 target is installed through rustup"
command -v node >/dev/null || die "node not found: install Node.js 20.3 or newer"
command -v npm >/dev/null || die "npm not found: it comes with Node.js"
command -v python3 >/dev/null || die "python3 not found: the Python SDK and RP tests need Python 3.11 or newer"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "python3 is $(python3 -V 2>&1): the pinned test packages (tests/sdk/requirements*.txt) need Python 3.11 or newer"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=3)?0:1)' \
  || die "Node.js $(node --version) is too old: wrangler needs 20.3 or newer"

# The version of a package as Cargo.lock pins it.
locked() { awk -v n="$1" '$0 == "name = \"" n "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock; }
WORKER_VERSION="$(locked worker)"
BINDGEN_VERSION="$(locked wasm-bindgen)"
[ -n "$WORKER_VERSION" ] && [ -n "$BINDGEN_VERSION" ] || die "cannot read worker/wasm-bindgen versions from Cargo.lock"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# worker-build must match the worker crate; wasm-bindgen-cli must match wasm-bindgen exactly.
if [ "$(worker-build --version 2>/dev/null || true)" != "$WORKER_VERSION" ]; then
  say "installing worker-build $WORKER_VERSION (a few minutes, once)"
  cargo install worker-build --version "$WORKER_VERSION" --locked
fi
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $BINDGEN_VERSION (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$BINDGEN_VERSION" --locked
fi

# The browser tests (tests/browser.rs) drive Debian's chromium with npm playwright-core, which
# downloads nothing. Installed through apt when missing (about 150 MB, a minute or two, once).
if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing chromium for the browser tests (apt-get, once)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
      || die "apt-get install chromium failed: the browser tests need it"
  elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
    say "installing chromium for the browser tests (sudo apt-get, once)"
    sudo apt-get update -qq >/dev/null
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
      || die "apt-get install chromium failed: the browser tests need it"
  else
    say "chromium is missing and cannot be installed here: install it (Debian: apt-get install chromium)" \
      "or set CHROMIUM to a Chromium binary; the browser tests fail without it"
  fi
fi

# npm packages: wrangler (workerd, local D1/KV), esbuild, binaryen's wasm-opt, miniflare,
# playwright-core (drives the browser tests' chromium), and Ory's JavaScript SDKs of three
# generations (@ory/hydra-client 26.2.0, @oryd/hydra-client 1.8.5, ory-hydra-sdk 1.0.0-beta.8)
# for tests/sdk/, and openid-client (a relying-party library) for tests/rp/. Cargo fetches the Rust
# SDKs (26.2.0 and 1.10.6) as dev-dependencies.
# Reinstalled only when package-lock.json changed since the last install.
if ! cmp -s package-lock.json node_modules/.hydra-edge-lock 2>/dev/null; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.hydra-edge-lock
fi

# Python: Ory's Python SDKs in project-local venvs, each reinstalled only when its requirements
# file changed since the last install: the current one (tests/sdk/hydra_client.py) and Authlib
# (tests/rp/authlib_client.py) in target/venv,
# and those of Hydra v1.x and v2.x (tests/sdk/hydra_client_v1.py, hydra_client_v2.py; the same
# package name, so each has a venv of its own) in target/venv-v1 and target/venv-v2.
python_venv() { # <venv directory> <requirements file> <what>
  if ! cmp -s "$2" "$1/.hydra-edge-requirements" 2>/dev/null; then
    say "installing $3 into $1"
    [ -x "$1/bin/python" ] || python3 -m venv "$1" \
      || die "python3 -m venv failed: install the venv module (Debian: apt-get install python3-venv)"
    "$1/bin/python" -m pip install --quiet --disable-pip-version-check -r "$2"
    cp "$2" "$1/.hydra-edge-requirements"
  fi
}
python_venv target/venv tests/sdk/requirements.txt "Ory's Python SDK and Authlib"
python_venv target/venv-v1 tests/sdk/requirements-v1.txt "Ory's Python SDK of Hydra v1.x"
python_venv target/venv-v2 tests/sdk/requirements-v2.txt "Ory's Python SDK of Hydra v2.x"

if [ ! -f .dev.vars ]; then
  say "creating .dev.vars from .dev.vars.example (local secrets for wrangler dev)"
  cp .dev.vars.example .dev.vars
fi
# Admin tokens shorter than 32 characters close the admin API; replace the old short default.
if grep -qx 'ADMIN_API_TOKEN=local-admin-token' .dev.vars; then
  say "replacing the old 17-character local admin token in .dev.vars (the admin API needs 32 or more)"
  sed -i.bak 's/^ADMIN_API_TOKEN=local-admin-token$/ADMIN_API_TOKEN=local-admin-token-for-development-only/' .dev.vars
  rm -f .dev.vars.bak
fi
