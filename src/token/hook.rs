//! The token hook (`OAUTH2_TOKEN_HOOK_URL`, Hydra's `oauth2.token_hook`): before any grant
//! issues tokens, POST Hydra's hook payload (`{session, request}`) and take the session claims
//! the hook returns. 200 replaces the access-token `ext` and the ID-token claims, 204 keeps
//! them, 403 denies (`access_denied`), anything else, a timeout included, is `server_error`; in
//! every failure nothing is issued.

use serde::Deserialize;
use serde_json::{json, Value};

use super::issue::Grant;
use crate::clients::rfc3339;
use crate::config::{Config, HookAuthIn, TokenHook};
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::platform::Platform;

/// What the hook is told about the request.
pub struct HookRequest<'a> {
    pub grant_type: &'a str,
    pub requested_scopes: &'a [String],
    /// The jwt-bearer `assertion`: the only request parameter Hydra passes on.
    pub assertion: Option<&'a str>,
    pub access_expires_at: i64,
    pub id_token_expires_at: Option<i64>,
    pub refresh_expires_at: Option<i64>,
}

/// Hydra's `TokenHookRequest` JSON: the session (ID-token claims, `extra`, expiries) and the
/// request (client, scopes, audience, grant types, payload).
pub fn payload(cfg: &Config, grant: &Grant, req: &HookRequest) -> Value {
    let (issuer, shape) = (&cfg.issuer, &cfg.access_token_claims);
    let mut expires_at = json!({ "access_token": rfc3339(req.access_expires_at) });
    if let Some(t) = req.id_token_expires_at {
        expires_at["id_token"] = json!(rfc3339(t));
    }
    if let Some(t) = req.refresh_expires_at {
        expires_at["refresh_token"] = json!(rfc3339(t));
    }
    let object = |v: &Value| if v.is_object() { v.clone() } else { json!({}) };
    let mut payload = serde_json::Map::new();
    if let Some(a) = req.assertion {
        payload.insert("assertion".into(), json!([a]));
    }
    json!({
        "session": {
            "id_token": {
                "id_token_claims": {
                    "jti": "",
                    "iss": issuer,
                    "sub": grant.oidc_subject(),
                    "aud": [grant.client_id],
                    "nonce": grant.nonce,
                    "exp": "0001-01-01T00:00:00Z",
                    "iat": "0001-01-01T00:00:00Z",
                    "rat": rfc3339(grant.requested_at),
                    "auth_time": rfc3339(grant.auth_time),
                    "at_hash": "",
                    "acr": grant.acr,
                    "amr": grant.amr,
                    "c_hash": "",
                    "ext": object(&grant.id_token_ext),
                },
                "headers": { "extra": {} },
                "expires_at": expires_at,
                "username": "",
                "subject": grant.subject,
            },
            "extra": object(&grant.access_token_ext),
            "kid": "",
            "client_id": grant.client_id,
            "consent_challenge": "",
            "exclude_not_before_claim": shape.exclude_not_before,
            "allowed_top_level_claims": shape.allowed_top_level,
            "mirror_top_level_claims": shape.mirror_under_ext,
            "preserve_ext_claims": false,
        },
        "request": {
            "client_id": grant.client_id,
            "requested_scopes": req.requested_scopes,
            "granted_scopes": grant.scopes,
            "granted_audience": grant.audience,
            "grant_types": [req.grant_type],
            "payload": payload,
        },
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HookSession {
    access_token: Value,
    id_token: Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HookResponse {
    session: HookSession,
}

fn failed(debug: impl Into<String>) -> ApiError {
    ApiError::server_error().with_hint("The token hook target responded with an error.").with_debug(debug)
}

/// Apply the hook's answer to the grant. Pure: the status and body of the hook's response.
pub fn apply(grant: &mut Grant, status: u16, body: &[u8]) -> ApiResult<()> {
    match status {
        200 => {
            let answer: HookResponse = crate::ctx::json_from_bytes(body)
                .map_err(|e| failed(format!("the token hook's answer could not be decoded: {e}")))?;
            let object = |v: Value| if v.is_object() { v } else { json!({}) };
            grant.access_token_ext = object(answer.session.access_token);
            grant.id_token_ext = object(answer.session.id_token);
            Ok(())
        }
        204 => Ok(()),
        403 => Err(ApiError::access_denied()
            .with_hint("The token hook target responded with an error.")
            .with_debug("the token hook answered HTTP 403")),
        other => Err(failed(format!("the token hook answered HTTP {other}"))),
    }
}

/// Call the hook, if one is configured, and let it change the grant's session claims.
pub async fn run<P: Platform>(ctx: &Ctx<'_, P>, grant: &mut Grant, req: &HookRequest<'_>) -> ApiResult<()> {
    let Some(hook) = &ctx.cfg.token_hook else {
        return Ok(());
    };
    let body = serde_json::to_vec(&payload(ctx.cfg, grant, req)).expect("json");
    let (status, answer) = call(ctx.p, hook, &body).await?;
    apply(grant, status, &answer)
}

async fn call<P: Platform>(p: &P, hook: &TokenHook, body: &[u8]) -> ApiResult<(u16, Vec<u8>)> {
    let cookie;
    let mut headers: Vec<(&str, &str)> = vec![("content-type", "application/json; charset=UTF-8")];
    if let Some((name, value, place)) = &hook.auth {
        match place {
            HookAuthIn::Header => headers.push((name.as_str(), value.as_str())),
            HookAuthIn::Cookie => {
                cookie = format!("{name}={value}");
                headers.push(("cookie", cookie.as_str()));
            }
        }
    }
    p.http_post(&hook.url, &headers, body, hook.timeout_ms).await.map_err(|e| {
        ApiError::server_error().with_hint("An error occurred while executing the token hook.").with_debug(e.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> Grant {
        Grant {
            request_id: "r".into(),
            client_id: "c".into(),
            subject: "alice".into(),
            scopes: vec!["openid".into()],
            access_token_ext: json!({"a": 1}),
            id_token_ext: json!({"b": 2}),
            ..Default::default()
        }
    }

    #[test]
    fn payload_has_hydras_shape_and_no_secrets() {
        let req = HookRequest {
            grant_type: "client_credentials",
            requested_scopes: &["openid".to_string()],
            assertion: None,
            access_expires_at: 3600,
            id_token_expires_at: None,
            refresh_expires_at: None,
        };
        let mut cfg = crate::config::tests::test_config();
        let p = payload(&cfg, &grant(), &req);
        assert_eq!(p["session"]["id_token"]["id_token_claims"]["iss"], cfg.issuer.as_str());
        assert_eq!(p["session"]["allowed_top_level_claims"], json!([]));
        assert_eq!(p["session"]["mirror_top_level_claims"], true);
        assert_eq!(p["request"]["client_id"], "c");
        assert_eq!(p["request"]["grant_types"], json!(["client_credentials"]));
        assert_eq!(p["request"]["granted_scopes"], json!(["openid"]));
        assert_eq!(p["request"]["payload"], json!({}));
        assert_eq!(p["session"]["extra"], json!({"a": 1}));
        assert_eq!(p["session"]["id_token"]["id_token_claims"]["ext"], json!({"b": 2}));
        assert_eq!(p["session"]["id_token"]["subject"], "alice");
        assert_eq!(p["session"]["id_token"]["expires_at"]["access_token"], "1970-01-01T01:00:00Z");
        // The access-token settings are reported as configured.
        cfg.access_token_claims.allowed_top_level = vec!["tenant".into()];
        cfg.access_token_claims.mirror_under_ext = false;
        cfg.access_token_claims.exclude_not_before = true;
        let p = payload(&cfg, &grant(), &req);
        assert_eq!(p["session"]["allowed_top_level_claims"], json!(["tenant"]));
        assert_eq!(p["session"]["mirror_top_level_claims"], false);
        assert_eq!(p["session"]["exclude_not_before_claim"], true);
    }

    #[test]
    fn answers_change_or_keep_or_deny() {
        let mut g = grant();
        apply(&mut g, 204, b"").unwrap();
        assert_eq!(g.access_token_ext, json!({"a": 1}));
        apply(&mut g, 200, br#"{"session":{"access_token":{"x":true},"id_token":{"y":"z"}}}"#).unwrap();
        assert_eq!(g.access_token_ext, json!({"x": true}));
        assert_eq!(g.id_token_ext, json!({"y": "z"}));
        assert_eq!(apply(&mut g, 403, b"").unwrap_err().error, "access_denied");
        assert_eq!(apply(&mut g, 500, b"").unwrap_err().error, "server_error");
        assert_eq!(apply(&mut g, 200, b"not json").unwrap_err().error, "server_error");
    }
}
