//! hydra-edge: an OAuth 2.0 and OpenID Connect server that speaks ORY Hydra's HTTP API, built
//! as one Cloudflare Worker.
//!
//! Layout (each route family owns its folder; everything but `worker/` builds on the host):
//!
//! | module | holds |
//! | --- | --- |
//! | [`app`] | dispatch: routing, admin authentication, error rendering |
//! | [`ctx`] | what every handler receives: configuration and runtime |
//! | [`router`] | the route table |
//! | [`config`] | vars and secrets, Hydra's defaults |
//! | [`error`] | `errorOAuth2` / `genericError` |
//! | [`http`] | request/response model, forms, cookies |
//! | [`platform`] | the runtime ports (D1, KV, WebCrypto, fetch) |
//! | [`store`] | every SQL statement and KV key |
//! | [`crypto`] | encodings, sealing, opaque tokens, secret hashes, JWS |
//! | [`authorize`] | `/oauth2/auth`: request validation, response modes, the end of a flow |
//! | [`flow`] | login and consent challenges, `/admin/oauth2/auth/requests/*`, cookies |
//! | [`token`] | `/oauth2/token`: grants and token minting |
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
pub mod config;
pub mod ctx;
pub mod crypto;
pub mod discovery;
pub mod duration;
pub mod error;
pub mod fallbacks;
pub mod flow;
pub mod health;
pub mod http;
pub mod keys;
pub mod platform;
pub mod router;
pub mod store;
pub mod token;

#[cfg(target_arch = "wasm32")]
mod worker;

/// The host platform for handler-level tests (see its module documentation for why a feature).
#[cfg(all(feature = "host-platform", not(target_arch = "wasm32")))]
pub mod host;
