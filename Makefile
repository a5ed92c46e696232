# The two commands of the README: `make dev` and `make test`. Both install what is missing
# first (scripts/bootstrap.sh).

PORT ?= 8787
CARGO_BIN := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin
export PATH := $(CARGO_BIN):$(PATH)
export WRANGLER_SEND_METRICS := false
WRANGLER := node node_modules/wrangler/bin/wrangler.js

# worker-build would download these; point it at the pinned local copies instead.
export WASM_BINDGEN_BIN := $(CARGO_BIN)/wasm-bindgen
export ESBUILD_BIN := $(CURDIR)/node_modules/.bin/esbuild
export WASM_OPT_BIN := $(CURDIR)/node_modules/.bin/wasm-opt

# glue.mjs is the JS half of the platform, which wasm-bindgen copies into the build.
RUST_SOURCES := $(shell find src -name '*.rs') src/worker/glue.mjs Cargo.toml Cargo.lock
# The wasm features worker-build enables for wasm-opt (the ones workerd supports).
WASM_FEATURES := --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling

.PHONY: dev test build bootstrap deploy-guard bench soak deploy clean

## Start the server on 127.0.0.1:$(PORT) with local D1 and KV, migrations applied, and the
## example login & consent app on $(PORT)+1 (EXAMPLE=0 to leave it out).
dev: build
	$(WRANGLER) d1 migrations apply DB --local
	PORT=$(PORT) bash scripts/dev.sh

## Run every test: host unit tests and end-to-end tests against the Worker in workerd.
test: build
	cargo test --locked

## Deploy to Cloudflare, creating the D1 database, KV namespace and secrets the first time
## (scripts/deploy.sh; `DRY_RUN=1 make deploy` prints the steps and changes nothing).
deploy: bootstrap
	bash scripts/deploy.sh

## Benchmark the built Worker under miniflare (not a test): see bench/README.md.
bench: build
	node bench/run.mjs

## Soak the built Worker under miniflare (not in `make test`): mixed traffic of every flow for
## SOAK_DURATION seconds (default 600) at SOAK_RATE scenarios/s (default 8); see docs/benchmarks.md.
soak: build
	rm -rf build/soak-bundle
	$(WRANGLER) deploy --dry-run --outdir build/soak-bundle --var URLS_SELF_ISSUER:https://bundle.invalid
	node tests/miniflare/soak.mjs build/soak-bundle

bootstrap:
	@bash scripts/bootstrap.sh

## The deployable Worker (build/index.js + build/index_bg.wasm); rebuilt only when sources change.
## Under `wrangler deploy` (WRANGLER_COMMAND=deploy) it first refuses a non-public issuer.
build: deploy-guard bootstrap build/index_bg.wasm wrangler.local.toml

## wrangler.toml without [build], for `make dev` and the tests: no watcher reloading the Worker
## right after it started (scripts/local-config.mjs says why).
wrangler.local.toml: wrangler.toml scripts/local-config.mjs
	@node scripts/local-config.mjs
	@touch $@

deploy-guard:
	@node scripts/deploy-guard.mjs

## worker-build keeps the function-names section (about a sixth of the module) for readable wasm
## stack traces; the uploaded module goes without it (a panic still logs its message and source
## location). build/index_bg.names.wasm keeps the names for bench/profile.mjs and
## scripts/wasm-size-by-crate.py.
build/index_bg.wasm: $(RUST_SOURCES)
	worker-build --release
	@cp build/index_bg.wasm build/index_bg.names.wasm
	@$(WASM_OPT_BIN) build/index_bg.wasm $(WASM_FEATURES) --strip-debug -o build/index_bg.wasm
	@touch $@

clean:
	rm -rf build target/e2e-state
