//! The Device Authorization Grant (RFC 8628), as Hydra v25+ serves it.
//!
//! 1. The device asks `POST /oauth2/device/auth` for a device code and a user code (`auth.rs`).
//! 2. The user opens `GET /oauth2/device/verify` (`verify.rs`), which sends the browser to the
//!    device verification UI (`URLS_DEVICE_VERIFICATION`) with a sealed `device_challenge` and
//!    a CSRF cookie; the UI checks the typed user code with
//!    `PUT /admin/oauth2/auth/requests/device/accept` and sends the browser back with a
//!    `device_verifier`.
//! 3. The usual login and consent legs follow (`crate::flow`), with the device request in the
//!    sealed state instead of an authorization request; the end marks the device request
//!    accepted (one conditional D1 statement) and lands on `URLS_DEVICE_SUCCESS`.
//! 4. The device polls the token endpoint (`crate::token::device_code`).
//!
//! * `user_code.rs`: user codes (Hydra's alphabets, normalisation, signatures).

pub mod auth;
pub mod user_code;
pub mod verify;

use serde::{Deserialize, Serialize};

use crate::authorize::request::AuthorizeRequest;
use crate::authorize::response::ResponseMode;
use crate::flow::DeviceLink;

/// A device verification (one visit of the verification page) as sealed into the
/// `device_challenge`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceState {
    /// The verification's id: the key of its single-use marker and of its attempt counter.
    pub id: String,
    pub csrf: String,
    /// `/oauth2/device/verify` as requested, without `user_code`.
    pub request_url: String,
    pub requested_at: i64,
}

/// The `device_verifier`: the verification and the device request its user code named.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceVerifier {
    pub device: DeviceState,
    pub client_id: String,
    pub link: DeviceLink,
}

/// The authorization request a device flow's login and consent legs work with: the device's
/// client, scope and audience, and no redirect URI (errors go to the error page).
pub fn authorize_request(client_id: &str, link: &DeviceLink) -> AuthorizeRequest {
    AuthorizeRequest {
        client_id: client_id.to_string(),
        response_types: Vec::new(),
        redirect_uri: String::new(),
        redirect_uri_given: false,
        response_mode: ResponseMode::Query,
        state: String::new(),
        nonce: String::new(),
        scopes: link.scopes.clone(),
        audience: link.audience.clone(),
        code_challenge: String::new(),
        prompt: Vec::new(),
        max_age: None,
        acr_values: Vec::new(),
        ui_locales: Vec::new(),
        display: String::new(),
        login_hint: String::new(),
        id_token_hint: String::new(),
    }
}

/// Is this request for the device verification endpoint (where device flows' verifiers return)?
pub fn is_verification_endpoint(path: &str) -> bool {
    path.trim_end_matches('/') == "/oauth2/device/verify"
}
