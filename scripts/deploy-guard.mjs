// The production guard of `wrangler deploy` (and `wrangler versions upload`): wrangler runs the
// build command (`make build`, see wrangler.toml) with WRANGLER_COMMAND set, and this script, run
// first by that build, refuses to let a deployment go out whose issuer is not a real one:
// missing, not https, or a loopback address such as the development default committed in
// wrangler.toml. It also refuses the test-only routes in a deployment. `wrangler dev` is not
// affected. Check it with `npx wrangler deploy --dry-run`.
//
// The issuer is read where wrangler takes it from: `--var URLS_SELF_ISSUER:...` on wrangler's
// command line, else `[env.<name>.vars]` for `--env <name>` (or CLOUDFLARE_ENV), else `[vars]`.
import { execFileSync } from "node:child_process";
import fs from "node:fs";

const command = process.env.WRANGLER_COMMAND ?? "";
if (!["deploy", "versions upload"].includes(command)) process.exit(0);

/** The command line of wrangler: the nearest ancestor process running wrangler. */
function wranglerArgs() {
  let pid = process.ppid;
  for (let depth = 0; pid > 1 && depth < 12; depth++) {
    let line = "";
    try {
      line = execFileSync("ps", ["-o", "ppid=,args=", "-p", String(pid)], { encoding: "utf8" }).trim();
    } catch {
      return [];
    }
    const m = line.match(/^(\d+)\s+(.*)$/);
    if (!m) return [];
    if (/wrangler/.test(m[2]) && /\b(deploy|versions)\b/.test(m[2])) {
      try {
        // /proc keeps the arguments apart (Linux); ps joins them with spaces.
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
      } catch {
        return m[2].split(/\s+/);
      }
    }
    pid = Number(m[1]);
  }
  return [];
}

/** `name = "value"` pairs of one TOML table (the subset wrangler.toml uses for vars). */
function tomlTable(text, table) {
  const out = {};
  let current = null;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("[")) {
      current = line.replace(/^\[+|\]+$/g, "").trim();
      continue;
    }
    if (current !== table) continue;
    const m = line.match(/^([A-Za-z0-9_]+)\s*=\s*"((?:[^"\\]|\\.)*)"/);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

function option(args, long, short) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === long || (short && args[i] === short)) return args[i + 1];
    if (args[i].startsWith(`${long}=`)) return args[i].slice(long.length + 1);
  }
  return undefined;
}

function cliVars(args) {
  const vars = {};
  for (let i = 0; i < args.length; i++) {
    let v;
    if (args[i] === "--var") v = args[i + 1];
    else if (args[i].startsWith("--var=")) v = args[i].slice(6);
    if (!v) continue;
    const at = v.indexOf(":");
    if (at > 0) vars[v.slice(0, at)] = v.slice(at + 1);
  }
  return vars;
}

const args = wranglerArgs();
const configPath = option(args, "--config", "-c") ?? "wrangler.toml";
const envName = option(args, "--env", "-e") ?? process.env.CLOUDFLARE_ENV ?? "";
const toml = fs.existsSync(configPath) ? fs.readFileSync(configPath, "utf8") : "";
const vars = {
  ...(envName ? tomlTable(toml, `env.${envName}.vars`) : tomlTable(toml, "vars")),
  ...cliVars(args),
};

const problems = [];
const issuer = vars.URLS_SELF_ISSUER ?? "";
let url = null;
try {
  url = new URL(issuer);
} catch {}
const host = url ? url.hostname.replace(/^\[|\]$/g, "") : "";
const loopback =
  host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
if (!issuer) {
  problems.push("URLS_SELF_ISSUER is not set");
} else if (!url || url.protocol !== "https:" || loopback) {
  problems.push(`URLS_SELF_ISSUER is ${JSON.stringify(issuer)}, which is not a public https URL`);
}
if (["true", "1"].includes((vars.HYDRA_EDGE_TEST_ROUTES ?? "").trim())) {
  problems.push("HYDRA_EDGE_TEST_ROUTES is on; the test-only routes must never be deployed");
}

if (problems.length > 0) {
  const where = envName ? `[env.${envName}.vars] of ${configPath}` : `[vars] of ${configPath}`;
  console.error(`
hydra-edge: refusing to ${command}: ${problems.join("; ")}.

The committed wrangler.toml is set up for local development (an issuer on 127.0.0.1).
Before deploying, set URLS_SELF_ISSUER to the https URL this Worker will answer at, in
${where} (or pass --var URLS_SELF_ISSUER:https://auth.example.com), e.g.

  URLS_SELF_ISSUER = "https://auth.example.com"

See README.md, "Deploying".
`);
  process.exit(1);
}
