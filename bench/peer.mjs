#!/usr/bin/env node
// The benchmark's peer: node-oidc-provider (npm `oidc-provider`) with its in-memory adapter and
// one ES256 key, serving what both servers share: discovery, JWKS and client_credentials with an
// ES256 JWT access token (RFC 9068 format, through resource indicators). bench/run.mjs starts it
// in a process of its own and reads the first line it prints.
//
//   node bench/peer.mjs <port>    prints {"origin": ..., "client_id": ..., "client_secret": ...}

import { generateKeyPair, exportJWK } from "jose";
import Provider from "oidc-provider";

const port = Number(process.argv[2]);
if (!(port > 0)) {
  console.error("usage: node bench/peer.mjs <port>");
  process.exit(2);
}
const origin = `http://127.0.0.1:${port}`;
const resource = "https://api.bench.example";
const client = { client_id: "bench-peer", client_secret: "bench-peer-secret-0123456789abcdefghij" };

const { privateKey } = await generateKeyPair("ES256", { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: "bench-peer-es256", alg: "ES256", use: "sig" };

const provider = new Provider(origin, {
  jwks: { keys: [jwk] },
  clients: [
    {
      ...client,
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_basic",
      id_token_signed_response_alg: "ES256",
      scope: "read write",
    },
  ],
  scopes: ["read", "write"],
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: "read write",
        audience: resource,
        accessTokenTTL: 3600,
        accessTokenFormat: "jwt",
        jwt: { sign: { alg: "ES256" } },
      }),
    },
  },
});
// Quiet: the bench reads stdout.
provider.on("server_error", (_ctx, e) => console.error(`peer: ${e.message}`));

const server = provider.listen(port, "127.0.0.1", () => {
  console.log(JSON.stringify({ origin, ...client }));
});
for (const sig of ["SIGINT", "SIGTERM"]) process.once(sig, () => server.close(() => process.exit(0)));
