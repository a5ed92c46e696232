// The Worker from source (src/worker/entry.mjs and the built wasm) under miniflare, reached
// through workerd's own socket, with local D1 (migrated) and KV: what bench/capacity.mjs and
// bench/profile.mjs run against. Also the free-port helper every bench script uses.

import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { applyMigrations } from "./migrations.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** A TCP port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts hydra-edge with the system secret `secret` and the admin token `admin`, the test routes
 * on when `testRoutes`, and a V8 inspector on `inspectorPort` when given; resolves once D1 is
 * migrated.
 * Returns the Miniflare instance and the Worker's origin (its direct socket).
 */
export async function startSourceWorker({ secret, admin, testRoutes = false, inspectorPort }) {
  const { Miniflare } = await import("miniflare");
  const [port, direct] = [await freePort(), await freePort()];
  const origin = `http://127.0.0.1:${direct}`;
  const mf = new Miniflare({
    host: "127.0.0.1",
    port,
    ...(inspectorPort ? { inspectorPort } : {}),
    workers: [
      {
        name: "hydra-edge",
        modules: true,
        modulesRoot: ROOT,
        scriptPath: path.join(ROOT, "src/worker/entry.mjs"),
        modulesRules: [
          { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
          { type: "CompiledWasm", include: ["**/*.wasm"] },
        ],
        compatibilityDate: "2026-04-20",
        kvNamespaces: ["KV"],
        d1Databases: ["DB"],
        bindings: {
          URLS_SELF_ISSUER: origin,
          SECRETS_SYSTEM: secret,
          ADMIN_API_TOKEN: admin,
          ...(testRoutes ? { HYDRA_EDGE_TEST_ROUTES: "true" } : {}),
        },
        unsafeDirectSockets: [{ host: "127.0.0.1", port: direct }],
      },
    ],
  });
  await mf.ready;
  await applyMigrations(await mf.getD1Database("DB", "hydra-edge"));
  return { mf, origin };
}
