//! Hydra's `OAuth2Client` JSON model, field for field, with Hydra's names, defaults and
//! omission rules, so Ory's SDKs read and write it unchanged.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::duration;
use crate::error::{ApiError, ApiResult};

/// The per-grant token lifespans (`oAuth2ClientTokenLifespans`). Always serialised, as a Go
/// duration string (`"1h0m0s"`) or `null`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Lifespans {
    pub authorization_code_grant_access_token_lifespan: Option<String>,
    pub authorization_code_grant_id_token_lifespan: Option<String>,
    pub authorization_code_grant_refresh_token_lifespan: Option<String>,
    pub client_credentials_grant_access_token_lifespan: Option<String>,
    pub device_authorization_grant_access_token_lifespan: Option<String>,
    pub device_authorization_grant_id_token_lifespan: Option<String>,
    pub device_authorization_grant_refresh_token_lifespan: Option<String>,
    pub implicit_grant_access_token_lifespan: Option<String>,
    pub implicit_grant_id_token_lifespan: Option<String>,
    pub jwt_bearer_grant_access_token_lifespan: Option<String>,
    pub refresh_token_grant_access_token_lifespan: Option<String>,
    pub refresh_token_grant_id_token_lifespan: Option<String>,
    pub refresh_token_grant_refresh_token_lifespan: Option<String>,
}

impl Lifespans {
    fn fields_mut(&mut self) -> [(&'static str, &mut Option<String>); 13] {
        [
            (
                "authorization_code_grant_access_token_lifespan",
                &mut self.authorization_code_grant_access_token_lifespan,
            ),
            ("authorization_code_grant_id_token_lifespan", &mut self.authorization_code_grant_id_token_lifespan),
            (
                "authorization_code_grant_refresh_token_lifespan",
                &mut self.authorization_code_grant_refresh_token_lifespan,
            ),
            (
                "client_credentials_grant_access_token_lifespan",
                &mut self.client_credentials_grant_access_token_lifespan,
            ),
            (
                "device_authorization_grant_access_token_lifespan",
                &mut self.device_authorization_grant_access_token_lifespan,
            ),
            ("device_authorization_grant_id_token_lifespan", &mut self.device_authorization_grant_id_token_lifespan),
            (
                "device_authorization_grant_refresh_token_lifespan",
                &mut self.device_authorization_grant_refresh_token_lifespan,
            ),
            ("implicit_grant_access_token_lifespan", &mut self.implicit_grant_access_token_lifespan),
            ("implicit_grant_id_token_lifespan", &mut self.implicit_grant_id_token_lifespan),
            ("jwt_bearer_grant_access_token_lifespan", &mut self.jwt_bearer_grant_access_token_lifespan),
            ("refresh_token_grant_access_token_lifespan", &mut self.refresh_token_grant_access_token_lifespan),
            ("refresh_token_grant_id_token_lifespan", &mut self.refresh_token_grant_id_token_lifespan),
            ("refresh_token_grant_refresh_token_lifespan", &mut self.refresh_token_grant_refresh_token_lifespan),
        ]
    }

    /// Check every lifespan against Hydra's pattern and rewrite it the way Go prints it.
    pub fn normalize(&mut self) -> ApiResult<()> {
        for (name, value) in self.fields_mut() {
            if let Some(raw) = value.as_deref() {
                let ns = duration::parse(raw).filter(|ns| *ns > 0).ok_or_else(|| {
                    ApiError::invalid_client_metadata().with_hint(format!(
                        "Field {name} must be a positive duration such as \"1h\" or \"30m\" (pattern ^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$), got \"{raw}\"."
                    ))
                })?;
                *value = Some(duration::format(ns));
            }
        }
        Ok(())
    }

    /// Refuse a lifespan above `max` seconds (refresh-token lifespans: above `max_refresh`).
    pub fn check_bounds(&self, max: i64, max_refresh: i64) -> ApiResult<()> {
        let mut copy = self.clone();
        for (name, value) in copy.fields_mut() {
            let bound = if name.ends_with("_refresh_token_lifespan") { max_refresh } else { max };
            if let Some(secs) = Lifespans::secs(value) {
                if secs > bound {
                    return Err(ApiError::invalid_client_metadata().with_hint(format!(
                        "Field {name} may be at most {} for dynamically registered clients, got \"{}\".",
                        duration::format(duration::from_secs(bound)),
                        value.as_deref().unwrap_or("")
                    )));
                }
            }
        }
        Ok(())
    }

    /// A lifespan in seconds, if set.
    pub fn secs(value: &Option<String>) -> Option<i64> {
        value.as_deref().and_then(duration::parse).map(duration::to_secs)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// An unset list is written `[]`, as Hydra reads a client back from its database: Ory's
/// generated SDKs with strict models (the Python SDK of Hydra v1.x) refuse `null` there. Unset
/// and empty mean the same to every rule here. The field stays an `Option` so that JSON written
/// before (clients in D1 and KV, clients sealed into challenges) with `null` still decodes.
fn none_as_empty<S: serde::Serializer>(v: &Option<Vec<String>>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().flatten())
}

/// Hydra writes an unset `skip_logout_consent` as `null`, but its OpenAPI document (v2.2 to
/// v26) types it a plain boolean, and the Python SDK of Hydra v2.x refuses `null`; unset is
/// `false` in every respect.
fn none_as_false<S: serde::Serializer>(v: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(v.unwrap_or(false))
}

/// An OAuth 2.0 client in Hydra's JSON form. Secrets are never part of the stored JSON; the
/// plaintext `client_secret` is only set on the response that created or changed it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Client {
    pub client_id: String,
    pub client_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(serialize_with = "none_as_empty")]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(serialize_with = "none_as_empty")]
    pub grant_types: Option<Vec<String>>,
    #[serde(serialize_with = "none_as_empty")]
    pub response_types: Option<Vec<String>>,
    pub scope: String,
    pub audience: Vec<String>,
    pub owner: String,
    pub policy_uri: String,
    pub allowed_cors_origins: Vec<String>,
    pub tos_uri: String,
    pub client_uri: String,
    pub logo_uri: String,
    #[serde(serialize_with = "none_as_empty")]
    pub contacts: Option<Vec<String>>,
    pub client_secret_expires_at: i64,
    pub subject_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sector_identifier_uri: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub jwks_uri: String,
    pub jwks: Value,
    pub token_endpoint_auth_method: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token_endpoint_auth_signing_alg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_uris: Option<Vec<String>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub request_object_signing_alg: String,
    pub userinfo_signed_response_alg: String,
    /// OpenID Connect Dynamic Registration's `id_token_signed_response_alg` (not a Hydra field):
    /// `RS256` signs this client's ID tokens with RS256 instead of the default ES256.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id_token_signed_response_alg: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub frontchannel_logout_uri: String,
    #[serde(skip_serializing_if = "is_false")]
    pub frontchannel_logout_session_required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub backchannel_logout_uri: String,
    #[serde(skip_serializing_if = "is_false")]
    pub backchannel_logout_session_required: bool,
    pub metadata: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_client_uri: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub access_token_strategy: String,
    pub skip_consent: bool,
    #[serde(serialize_with = "none_as_false")]
    pub skip_logout_consent: Option<bool>,
    #[serde(flatten)]
    pub lifespans: Lifespans,
}

impl Client {
    /// Decode a client from request JSON. `null` counts as absent (Go's decoder treats it so),
    /// unknown fields are ignored (as Hydra v26 does), and a wrong type names its field.
    pub fn from_json(value: Value) -> ApiResult<Client> {
        let Value::Object(map) = value else {
            return Err(ApiError::bad_request(
                "The request body must be a JSON object describing an OAuth 2.0 client.",
            ));
        };
        let mut map = map;
        map.retain(|_, v| !v.is_null());
        crate::ctx::decode_fields(map)
    }

    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == "none"
    }

    /// Grant types in effect (Hydra treats none as `authorization_code`).
    pub fn effective_grant_types(&self) -> Vec<String> {
        match &self.grant_types {
            Some(g) if !g.is_empty() => g.clone(),
            _ => vec!["authorization_code".to_string()],
        }
    }

    pub fn has_grant(&self, grant: &str) -> bool {
        self.effective_grant_types().iter().any(|g| g == grant)
    }

    /// Response types in effect (Hydra treats none as `code`).
    pub fn effective_response_types(&self) -> Vec<String> {
        match &self.response_types {
            Some(r) if !r.is_empty() => r.clone(),
            _ => vec!["code".to_string()],
        }
    }

    pub fn scopes(&self) -> Vec<&str> {
        self.scope.split(' ').filter(|s| !s.is_empty()).collect()
    }

    pub fn redirect_uri_list(&self) -> &[String] {
        self.redirect_uris.as_deref().unwrap_or(&[])
    }

    /// The JSON the admin API shows: without any secret or registration token.
    pub fn public_view(&self) -> Client {
        let mut c = self.clone();
        c.client_secret = None;
        c.registration_access_token = None;
        c.registration_client_uri = None;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialises_with_hydra_names_and_defaults() {
        let c = Client { client_id: "c1".into(), jwks: json!({}), metadata: json!({}), ..Default::default() };
        let v = serde_json::to_value(&c).unwrap();
        for always in [
            "client_id",
            "client_name",
            "redirect_uris",
            "grant_types",
            "response_types",
            "scope",
            "audience",
            "owner",
            "policy_uri",
            "allowed_cors_origins",
            "tos_uri",
            "client_uri",
            "logo_uri",
            "contacts",
            "client_secret_expires_at",
            "subject_type",
            "jwks",
            "token_endpoint_auth_method",
            "userinfo_signed_response_alg",
            "created_at",
            "updated_at",
            "metadata",
            "skip_consent",
            "skip_logout_consent",
            "authorization_code_grant_access_token_lifespan",
            "refresh_token_grant_refresh_token_lifespan",
            "device_authorization_grant_id_token_lifespan",
        ] {
            assert!(v.get(always).is_some(), "{always} missing");
        }
        for omitted in [
            "client_secret",
            "jwks_uri",
            "sector_identifier_uri",
            "request_uris",
            "post_logout_redirect_uris",
            "registration_access_token",
            "access_token_strategy",
            "frontchannel_logout_session_required",
        ] {
            assert!(v.get(omitted).is_none(), "{omitted} present");
        }
        assert_eq!((&v["redirect_uris"], &v["contacts"]), (&json!([]), &json!([])));
        assert_eq!(v["audience"], json!([]));
        assert_eq!(v["authorization_code_grant_access_token_lifespan"], Value::Null);
    }

    #[test]
    fn decoding_ignores_unknown_fields_and_nulls_and_names_wrong_types() {
        let c = Client::from_json(
            json!({"client_name": "x", "unknown": 1, "owner": null, "audience": null, "redirect_uris": null, "skip_logout_consent": null}),
        )
        .unwrap();
        assert!(c.redirect_uris.is_none() && c.skip_logout_consent.is_none());
        // JSON stored before unset lists were written `[]` still decodes.
        let old: Client = serde_json::from_str(
            r#"{"client_id":"c","redirect_uris":null,"grant_types":null,"contacts":null,"skip_logout_consent":null}"#,
        )
        .unwrap();
        assert_eq!((old.redirect_uris, old.grant_types, old.contacts), (None, None, None));
        assert_eq!(c.client_name, "x");
        assert_eq!(c.owner, "");
        let err = Client::from_json(json!({"redirect_uris": "https://a"})).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.description.contains("redirect_uris"), "{}", err.description);
        let err = Client::from_json(json!({"skip_consent": "yes"})).unwrap_err();
        assert!(err.description.contains("skip_consent"));
        assert!(Client::from_json(json!([1])).is_err());
    }

    #[test]
    fn lifespans_normalise_to_go_format() {
        let mut l = Lifespans { implicit_grant_id_token_lifespan: Some("90m".into()), ..Default::default() };
        l.normalize().unwrap();
        assert_eq!(l.implicit_grant_id_token_lifespan.as_deref(), Some("1h30m0s"));
        let mut bad = Lifespans { jwt_bearer_grant_access_token_lifespan: Some("1 hour".into()), ..Default::default() };
        let err = bad.normalize().unwrap_err();
        assert_eq!(err.error, "invalid_client_metadata");
        assert!(err.hint.contains("jwt_bearer_grant_access_token_lifespan"));
    }

    #[test]
    fn effective_defaults() {
        let c = Client::default();
        assert_eq!(c.effective_grant_types(), vec!["authorization_code"]);
        assert_eq!(c.effective_response_types(), vec!["code"]);
    }
}
