//! hydra-edge: an OAuth 2.0 and OpenID Connect server that speaks ORY Hydra's HTTP API, built
//! as one Cloudflare Worker.
//!
//! Layout (each route family owns its folder; everything but `worker/` builds on the host):
//!
//! | module | holds |
//! | --- | --- |
//! | [`app`] | dispatch: routing, admin authentication, error rendering |
//! | [`ctx`] | what every handler receives: configuration and runtime |
//! | [`router`] | the route table, every generation of Hydra's API side by side |
//! | [`compat`] | request/response adapters of the older generations (v1.x, v1.0-beta, v0.10) |
//! | [`config`] | vars and secrets, Hydra's defaults |
//! | [`cors`] | cross-origin resource sharing by path, as Hydra does it |
//! | [`error`] | `errorOAuth2` / `genericError` |
//! | [`http`] | request/response model, forms, cookies |
//! | [`log`] | the structured log line of each request |
//! | [`rfc3339`] | RFC 3339 timestamps |
//! | [`memo`] | per-isolate memory with a time bound |
//! | [`metrics`] | `/metrics/prometheus`: counters, flushed to D1 after responses |
//! | [`platform`] | the runtime ports (D1, KV, WebCrypto, fetch, rate limiter) |
//! | [`ratelimit`] | rate limits of the public edge (Workers rate-limiting binding) |
//! | [`store`] | every SQL statement and KV key |
//! | [`crypto`] | encodings, sealing, opaque tokens, secret hashes, JWS |
//! | [`authorize`] | `/oauth2/auth`: request validation, response modes, the end of a flow |
//! | [`flow`] | login, consent and logout challenges, `/admin/oauth2/auth/requests/*`, sessions, cookies |
//! | [`subject`] | the `sub` a client sees: public or pairwise subject identifiers |
//! | [`device`] | the device authorization grant: `/oauth2/device/*`, user codes |
//! | [`token`] | `/oauth2/token`: grants and token minting |
//! | [`introspect`] | `/admin/oauth2/introspect`; what a presented token stands for |
//! | [`revoke`] | `/oauth2/revoke`, `DELETE /admin/oauth2/tokens` |
//! | [`flush`] | `POST /oauth2/flush` |
//! | [`userinfo`] | `/userinfo` |
//! | [`trust`] | `/admin/trust/grants/jwt-bearer/issuers` |
//! | [`clients`] | `/admin/clients`, `/oauth2/register`, client authentication |
//! | [`keys`] | `/admin/keys`, signing keys, `/.well-known/jwks.json` |
//! | [`discovery`] | `/.well-known/openid-configuration` |
//! | [`health`] | `/health/*`, `/version` |
//! | [`fallbacks`] | `/oauth2/fallbacks/*` |
//! | `worker` | the wasm-only shell: entry point and platform implementation |
//! | [`host`] | tests only: the platform on the host (SQLite, in-memory KV, crypto in Rust, faults) |

pub mod app;
pub mod authorize;
pub mod clients;
pub mod compat;
pub mod config;
pub mod cors;
pub mod crypto;
pub mod ctx;
pub mod device;
pub mod discovery;
pub mod duration;
pub mod error;
pub mod fallbacks;
pub mod flow;
pub mod flush;
pub mod health;
pub mod http;
pub mod introspect;
pub mod keys;
pub mod log;
pub mod memo;
pub mod metrics;
pub mod pagination;
pub mod platform;
pub mod ratelimit;
pub mod revoke;
pub mod rfc3339;
pub mod router;
pub mod store;
pub mod subject;
#[cfg(test)]
pub mod testing;
pub mod token;
pub mod trust;
pub mod userinfo;

#[cfg(target_arch = "wasm32")]
mod worker;

/// The host platform for handler-level tests (see its module documentation for why a feature).
#[cfg(all(feature = "host-platform", not(target_arch = "wasm32")))]
pub mod host;
