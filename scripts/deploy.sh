#!/usr/bin/env bash
# `make deploy`: put hydra-edge on a Cloudflare account, setting up what is missing the first
# time. Each run:
#   1. checks that wrangler is logged in and that the issuer is a public https URL;
#   2. finds or creates the D1 database and the KV namespace, and writes their ids into the
#      config (replacing the placeholders);
#   3. applies the D1 migrations remotely;
#   4. asks for the secrets that are not set yet (SECRETS_SYSTEM, ADMIN_API_TOKEN), generating
#      them when you agree, and uploads them with the deployment;
#   5. runs `wrangler deploy`.
#
# Usage: scripts/deploy.sh [--dry-run] [--yes]
#   --dry-run  print every step; only read-only account calls run, nothing is created or changed
#   --yes      generate missing secrets without asking (for non-interactive runs)
# Environment:
#   SECRETS_SYSTEM, ADMIN_API_TOKEN  values for missing secrets (instead of asking)
#   DRY_RUN=1, YES=1                 the same as the flags (`DRY_RUN=1 make deploy`)
#   WRANGLER                         the wrangler command (default: the project's pinned copy)
#   DEPLOY_CONFIG                    the config file (default: wrangler.toml)
set -euo pipefail
cd "$(dirname "$0")/.."

DRY_RUN="${DRY_RUN:-0}"
YES="${YES:-0}"
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    --yes|-y) YES=1 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "deploy: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

CONFIG="${DEPLOY_CONFIG:-wrangler.toml}"
read -r -a WR <<< "${WRANGLER:-node node_modules/wrangler/bin/wrangler.js}"
export WRANGLER_SEND_METRICS=false

D1_PLACEHOLDER="00000000-0000-0000-0000-000000000000"
KV_PLACEHOLDER="00000000000000000000000000000000"

say() { echo "deploy: $*" >&2; }
die() { echo "deploy: $*" >&2; exit 1; }
step() { echo >&2; echo "==> $*" >&2; }

# A wrangler call that only reads: runs in every mode.
wr_read() { "${WR[@]}" "$@" --config "$CONFIG"; }
# A wrangler call that changes the account: printed in a dry run, run otherwise.
wr_change() {
  if [ "$DRY_RUN" = 1 ]; then
    say "would run: wrangler $* --config $CONFIG"
  else
    "${WR[@]}" "$@" --config "$CONFIG"
  fi
}

# Small JSON and URL helpers through node (already required by wrangler).
json_find() { # stdin: a JSON array; prints .$3 of the first item whose .$1 equals $2
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let a;try{a=JSON.parse(s.slice(s.indexOf("[")))}catch{process.exit(3)}const x=a.find(i=>i[process.argv[1]]===process.argv[2]);if(x)console.log(x[process.argv[3]])})' "$1" "$2" "$3"
}
json_names() { # stdin: a JSON array of {name}; prints the names, one a line
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let a;try{a=JSON.parse(s.slice(s.indexOf("[")))}catch{process.exit(3)}for(const i of a)console.log(i.name)})'
}
random_secret() { node -e 'console.log(require("crypto").randomBytes(32).toString("base64url"))'; }

# A top-level key of the config, or of one of its [tables] (first match, quotes removed).
toml_get() { # $1 table ("" for the top level or any), $2 key
  awk -v table="$1" -v key="$2" '
    /^\[/ { current = $0; gsub(/[\[\] ]/, "", current); next }
    (table == "" || current == table) && $1 == key && $2 == "=" {
      v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t]*#.*$/, "", v); gsub(/^"|"$/, "", v); print v; exit
    }' "$CONFIG"
}

# Replace a placeholder id in the config (dry run: only say so).
write_id() { # $1 what, $2 placeholder, $3 id
  if [ "$DRY_RUN" = 1 ]; then
    say "would write the $1 id $3 into $CONFIG"
    return
  fi
  local tmp
  tmp="$(mktemp)"
  sed "s/\"$2\"/\"$3\"/" "$CONFIG" > "$tmp" && cat "$tmp" > "$CONFIG" && rm -f "$tmp"
  say "wrote the $1 id $3 into $CONFIG"
}

[ -f "$CONFIG" ] || die "$CONFIG not found"
[ "$DRY_RUN" = 1 ] && say "dry run: nothing will be created, changed or deployed"

# --- 1. Preconditions -------------------------------------------------------------------------
step "Checking the configuration"
WORKER="$(toml_get "" name)"
[ -n "$WORKER" ] || die "$CONFIG has no Worker name"
ISSUER="$(toml_get vars URLS_SELF_ISSUER)"
[ -n "$ISSUER" ] || die "URLS_SELF_ISSUER is not set in [vars] of $CONFIG: set it to the public https URL of this deployment (e.g. https://auth.example.com)"
why="$(node -e '
  let u; try { u = new URL(process.argv[1]) } catch { console.log("is not a URL"); process.exit() }
  const h = u.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost") || /^127\./.test(h) || h === "::1" || h === "0.0.0.0" || h === "::")
    console.log("points at a loopback address (the local development default)");
  else if (u.protocol !== "https:") console.log("is not https");
  else if (u.search || u.hash) console.log("has a query or fragment");
' "$ISSUER")"
[ -z "$why" ] || die "the issuer URLS_SELF_ISSUER = \"$ISSUER\" in $CONFIG $why: set it to the public https URL of this deployment (e.g. https://auth.example.com) before deploying"
say "issuer: $ISSUER"
case "$(toml_get vars HYDRA_EDGE_TEST_ROUTES)" in
  true|1|yes|on) die "HYDRA_EDGE_TEST_ROUTES is on in $CONFIG [vars]: test routes must never be deployed" ;;
esac
for v in URLS_LOGIN URLS_CONSENT; do
  [ -n "$(toml_get vars "$v")" ] || say "note: $v is not set in [vars]: users will see the built-in fallback page instead of your login & consent app"
done

step "Checking the Cloudflare login"
wr_read whoami >/dev/null 2>&1 || die "wrangler is not logged in: run 'npx wrangler login' (or set CLOUDFLARE_API_TOKEN) first"
say "logged in"

# --- 2. D1 and KV -----------------------------------------------------------------------------
step "D1 database"
DB_NAME="$(toml_get d1_databases database_name)"
DB_ID="$(toml_get d1_databases database_id)"
[ -n "$DB_NAME" ] || die "$CONFIG has no [[d1_databases]] database_name"
found="$(wr_read d1 list --json | json_find name "$DB_NAME" uuid)" || die "could not read the account's D1 databases"
if [ "$DB_ID" = "$D1_PLACEHOLDER" ] || [ -z "$DB_ID" ]; then
  if [ -n "$found" ]; then
    say "found the D1 database '$DB_NAME' ($found)"
    DB_ID="$found"
  else
    wr_change d1 create "$DB_NAME" >&2
    if [ "$DRY_RUN" = 1 ]; then
      DB_ID="<new database id>"
    else
      DB_ID="$(wr_read d1 list --json | json_find name "$DB_NAME" uuid)"
      [ -n "$DB_ID" ] || die "created the D1 database '$DB_NAME' but cannot find it in the account"
      say "created the D1 database '$DB_NAME' ($DB_ID)"
    fi
  fi
  write_id "D1 database" "$D1_PLACEHOLDER" "$DB_ID"
else
  [ "$found" = "$DB_ID" ] || die "$CONFIG names the D1 database $DB_ID, which this account does not have under the name '$DB_NAME'"
  say "D1 database '$DB_NAME' ($DB_ID) is configured"
fi

step "KV namespace"
KV_TITLE="${WORKER}-kv"
KV_ID="$(toml_get kv_namespaces id)"
found="$(wr_read kv namespace list | json_find title "$KV_TITLE" id)" || die "could not read the account's KV namespaces"
if [ "$KV_ID" = "$KV_PLACEHOLDER" ] || [ -z "$KV_ID" ]; then
  if [ -n "$found" ]; then
    say "found the KV namespace '$KV_TITLE' ($found)"
    KV_ID="$found"
  else
    wr_change kv namespace create "$KV_TITLE" >&2
    if [ "$DRY_RUN" = 1 ]; then
      KV_ID="<new namespace id>"
    else
      KV_ID="$(wr_read kv namespace list | json_find title "$KV_TITLE" id)"
      [ -n "$KV_ID" ] || die "created the KV namespace '$KV_TITLE' but cannot find it in the account"
      say "created the KV namespace '$KV_TITLE' ($KV_ID)"
    fi
  fi
  write_id "KV namespace" "$KV_PLACEHOLDER" "$KV_ID"
else
  say "KV namespace $KV_ID is configured"
fi

# --- 3. Migrations ----------------------------------------------------------------------------
step "D1 migrations"
wr_change d1 migrations apply DB --remote >&2

# --- 4. Secrets -------------------------------------------------------------------------------
step "Secrets"
SECRETS_DIR="$(mktemp -d)"
chmod 700 "$SECRETS_DIR"
trap 'rm -rf "$SECRETS_DIR"' EXIT
# Before the first deployment the Worker does not exist and has no secrets to list. Any other
# failure stops here: guessing "not set" would replace a secret the deployment depends on.
if listed="$(wr_read secret list --format json 2>"$SECRETS_DIR/err")"; then
  existing="$(json_names <<< "$listed")" || die "could not read the Worker's secrets from: $listed"
elif grep -q "Worker \"$WORKER\".*not found" "$SECRETS_DIR/err"; then
  say "the Worker '$WORKER' is not deployed yet: no secrets are set"
  existing=""
else
  die "could not list the Worker's secrets: $(cat "$SECRETS_DIR/err")"
fi
SECRETS_FILE="$SECRETS_DIR/secrets.json"
declare -A NEW=()

ask() { # $1 prompt; answers on stdout; fails at the end of input
  local answer
  if [ -t 0 ]; then read -r -p "$1 " answer; else read -r answer || return 1; fi
  printf '%s' "$answer"
}
ask_secret() { # $1 prompt
  local answer
  if [ -t 0 ]; then read -r -s -p "$1 " answer; echo >&2; else read -r answer || return 1; fi
  printf '%s' "$answer"
}

need_secret() { # $1 name, $2 minimum length, $3 what it is
  local name="$1" min="$2" value=""
  if grep -qx "$name" <<< "$existing"; then
    say "$name is set"
    return
  fi
  if [ -n "${!name:-}" ]; then
    value="${!name}"
    [ "${#value}" -ge "$min" ] || die "$name from the environment is shorter than $min characters"
    say "$name: from the environment"
  elif [ "$DRY_RUN" = 1 ]; then
    say "would ask for $name ($3), or generate it"
    return
  else
    local answer="y"
    if [ "$YES" != 1 ]; then
      answer="$(ask "$name ($3) is not set. Generate a random one? [Y/n]")" \
        || die "$name is not set: run interactively, pass --yes to generate it, or set $name in the environment"
    fi
    case "${answer,,}" in
      ""|y|yes)
        value="$(random_secret)"
        # Shown once: it cannot be read back from Cloudflare.
        echo >&2
        echo "    $name = $value" >&2
        echo "    Keep it in your password manager now: Cloudflare cannot show it again." >&2
        echo >&2
        ;;
      *)
        value="$(ask_secret "Enter $name (at least $min characters):")" || die "no value for $name"
        [ "${#value}" -ge "$min" ] || die "$name must be at least $min characters"
        ;;
    esac
  fi
  NEW[$name]="$value"
}

need_secret SECRETS_SYSTEM 32 "signs and encrypts tokens, challenges, cookies and keys"
need_secret ADMIN_API_TOKEN 32 "the bearer token of the admin API"

deploy_args=(deploy)
if [ "${#NEW[@]}" -gt 0 ]; then
  # Uploaded with the deployment, so the Worker never runs without them; the file lives in a
  # private temporary directory and is removed on exit.
  for name in "${!NEW[@]}"; do printf '%s\0%s\0' "$name" "${NEW[$name]}"; done |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const p=s.split("\0");const o={};for(let i=0;i+1<p.length;i+=2)o[p[i]]=p[i+1];require("fs").writeFileSync(process.argv[1],JSON.stringify(o),{mode:0o600})})' "$SECRETS_FILE"
  deploy_args+=(--secrets-file "$SECRETS_FILE")
  say "uploading ${!NEW[*]} with the deployment"
fi

# --- 5. Deploy --------------------------------------------------------------------------------
step "Deploying the Worker '$WORKER'"
wr_change "${deploy_args[@]}" >&2
if [ "$DRY_RUN" = 1 ]; then
  say "dry run done: nothing was changed"
else
  say "done: $ISSUER/.well-known/openid-configuration should answer now; logs: npx wrangler tail $WORKER --format json"
fi
