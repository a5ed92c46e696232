//! Parsing and validating an authorization request, in the order Hydra (fosite) checks it.
//!
//! Pure: given the request parameters, the client and the configuration, it returns either a
//! validated [`AuthorizeRequest`] or an error together with where that error may be sent (the
//! client's redirect URI once it is known to be registered, otherwise nowhere but the error
//! page).

// Rejections carry the error and its destination by value; they only occur on the error path.
#![allow(clippy::result_large_err)]

use serde_json::Value;

use super::pkce;
use super::response::{match_redirect_uri, ResponseMode, Target};
use super::scope::{audience_allowed, is_scope_token, scope_allowed};
use crate::clients::model::Client;
use crate::config::Config;
use crate::error::ApiError;
use crate::http::form::Form;

/// Hydra's minimum length for `state` and `nonce` (fosite `MinParameterEntropy`).
pub const MIN_ENTROPY: usize = 8;
const MAX_PARAM_LEN: usize = 4096;
const PROMPT_VALUES: &[&str] = &["none", "login", "consent", "select_account"];

#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizeRequest {
    pub client_id: String,
    /// Sorted response type tokens (`["code", "id_token"]`).
    pub response_types: Vec<String>,
    pub redirect_uri: String,
    /// Whether `redirect_uri` was sent; if so the token request must repeat it.
    pub redirect_uri_given: bool,
    pub response_mode: ResponseMode,
    pub state: String,
    pub nonce: String,
    pub scopes: Vec<String>,
    pub audience: Vec<String>,
    pub code_challenge: String,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    pub acr_values: Vec<String>,
    pub ui_locales: Vec<String>,
    pub display: String,
    pub login_hint: String,
    pub id_token_hint: String,
}

impl AuthorizeRequest {
    pub fn has_response_type(&self, t: &str) -> bool {
        self.response_types.iter().any(|r| r == t)
    }
    pub fn is_openid(&self) -> bool {
        self.scopes.iter().any(|s| s == "openid")
    }
    pub fn has_prompt(&self, p: &str) -> bool {
        self.prompt.iter().any(|x| x == p)
    }
    pub fn target(&self) -> Target {
        Target { redirect_uri: self.redirect_uri.clone(), mode: self.response_mode, state: self.state.clone() }
    }
}

/// A rejected request and where the rejection may be delivered.
#[derive(Debug)]
pub struct Rejection {
    pub error: ApiError,
    /// `None`: show the error page; never redirect to an unverified URI.
    pub target: Option<Target>,
}

fn split(s: &str) -> Vec<String> {
    s.split(' ').filter(|p| !p.is_empty()).map(str::to_string).collect()
}

/// Validate an authorization request for `client`.
pub fn validate(cfg: &Config, client: &Client, form: &Form) -> Result<AuthorizeRequest, Rejection> {
    let page = |error: ApiError| Rejection { error, target: None };
    let get = |name: &str| -> Result<String, Rejection> {
        let v = form.get(name).map_err(|e| page(ApiError::invalid_request().with_hint(e.to_string())))?.unwrap_or("");
        if v.len() > MAX_PARAM_LEN {
            return Err(page(ApiError::invalid_request().with_hint(format!("The parameter '{name}' is too long."))));
        }
        Ok(v.to_string())
    };

    let scopes = split(&get("scope")?);
    let is_openid = scopes.iter().any(|s| s == "openid");

    // 1. The redirect URI: until it is verified, errors go to the error page only.
    let presented = get("redirect_uri")?;
    let registered = client.redirect_uri_list();
    let (redirect_uri, redirect_uri_given) = if presented.is_empty() {
        if registered.len() == 1 && !is_openid {
            (registered[0].clone(), false)
        } else {
            return Err(page(ApiError::invalid_request().with_hint(if is_openid {
                "The 'redirect_uri' parameter is required for OpenID Connect requests."
            } else {
                "The 'redirect_uri' parameter is required when the client has more or less than one registered redirect URI."
            })));
        }
    } else if let Some(uri) = match_redirect_uri(registered, &presented) {
        (uri, true)
    } else {
        return Err(page(ApiError::invalid_request().with_hint(
            "The 'redirect_uri' parameter does not match any of the OAuth 2.0 Client's pre-registered redirect urls.",
        )));
    };

    // 2. Response type and mode decide how errors are delivered from here on.
    let state = get("state")?;
    let mut response_types = split(&get("response_type")?);
    response_types.sort();
    response_types.dedup();
    let implicit_like = response_types.iter().any(|t| t == "token" || t == "id_token");
    let default_mode = if implicit_like { ResponseMode::Fragment } else { ResponseMode::Query };
    let requested_mode = get("response_mode")?;
    let mode_for_errors = ResponseMode::parse(&requested_mode).unwrap_or(default_mode);
    let target = Target { redirect_uri: redirect_uri.clone(), mode: mode_for_errors, state: state.clone() };
    let to_client = |error: ApiError| Rejection { error, target: Some(target.clone()) };

    if response_types.is_empty() {
        return Err(to_client(
            ApiError::unsupported_response_type().with_hint("The 'response_type' parameter is missing."),
        ));
    }
    let known = matches!(
        response_types.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
        ["code"]
            | ["id_token"]
            | ["token"]
            | ["id_token", "token"]
            | ["code", "id_token"]
            | ["code", "token"]
            | ["code", "id_token", "token"]
    );
    if !known {
        return Err(to_client(
            ApiError::unsupported_response_type()
                .with_hint(format!("The response type '{}' is not supported.", response_types.join(" "))),
        ));
    }
    let allowed_for_client = client.effective_response_types().iter().any(|r| {
        let mut parts = split(r);
        parts.sort();
        parts == response_types
    });
    if !allowed_for_client {
        return Err(to_client(ApiError::unsupported_response_type().with_hint(format!(
            "The client is not allowed to request response_type '{}'.",
            response_types.join(" ")
        ))));
    }
    let response_mode = if requested_mode.is_empty() {
        default_mode
    } else {
        ResponseMode::parse(&requested_mode).ok_or_else(|| {
            to_client(
                ApiError::unsupported_response_mode().with_hint(format!("Unknown response_mode '{requested_mode}'.")),
            )
        })?
    };
    if implicit_like && response_mode == ResponseMode::Query {
        return Err(to_client(ApiError::unsupported_response_mode().with_hint(format!(
            "Insecure response_mode 'query' for the response_type '{}': tokens must not appear in a query.",
            response_types.join(" ")
        ))));
    }
    let target = Target { redirect_uri: redirect_uri.clone(), mode: response_mode, state: state.clone() };
    let to_client = |error: ApiError| Rejection { error, target: Some(target.clone()) };

    // 3. Grants behind the response types.
    if response_types.iter().any(|t| t == "code") && !client.has_grant("authorization_code") {
        return Err(to_client(
            ApiError::unauthorized_client()
                .with_hint("The client is not allowed to use grant type 'authorization_code'."),
        ));
    }
    // As fosite: `token` needs the implicit grant, and so does an ID token without a code (the
    // implicit flow); a hybrid `code id_token` is the code grant's.
    let has = |t: &str| response_types.iter().any(|r| r == t);
    if (has("token") || (has("id_token") && !has("code"))) && !client.has_grant("implicit") {
        return Err(to_client(ApiError::unauthorized_client().with_hint(
            "The client is not allowed to use grant type 'implicit', which response types token and id_token need.",
        )));
    }
    if response_types.iter().any(|t| t == "id_token") && !is_openid {
        return Err(to_client(
            ApiError::invalid_request().with_hint("The response type 'id_token' requires the 'openid' scope."),
        ));
    }

    // 4. Request objects and registration are not supported (and advertised so).
    if !get("request")?.is_empty() {
        return Err(to_client(ApiError::request_not_supported()));
    }
    if !get("request_uri")?.is_empty() {
        return Err(to_client(ApiError::request_uri_not_supported()));
    }
    if !get("registration")?.is_empty() {
        return Err(to_client(ApiError::registration_not_supported()));
    }

    // 5. Scope tokens (RFC 6749 §3.3), within the client's allow-lists, and the audience.
    if let Some(bad) = scopes.iter().find(|s| !is_scope_token(s)) {
        return Err(to_client(ApiError::invalid_scope().with_hint(format!(
            "The requested scope '{bad}' is not a valid scope token: only visible ASCII characters other than '\"' and '\\' are allowed."
        ))));
    }
    let allowed = client.scopes();
    if let Some(bad) = scopes.iter().find(|s| !scope_allowed(cfg.scope_strategy, &allowed, s)) {
        return Err(to_client(
            ApiError::invalid_scope()
                .with_hint(format!("The OAuth 2.0 Client is not allowed to request scope '{bad}'.")),
        ));
    }
    let mut audience: Vec<String> = Vec::new();
    for value in form.get_all("audience") {
        audience.extend(split(value));
    }
    if let Some(bad) = audience.iter().find(|a| !audience_allowed(&client.audience, a)) {
        return Err(to_client(
            ApiError::invalid_request()
                .with_hint(format!("Requested audience '{bad}' has not been whitelisted by the OAuth 2.0 Client.")),
        ));
    }

    // 6. Anti-CSRF and replay parameters.
    if state.chars().count() < MIN_ENTROPY {
        return Err(to_client(ApiError::invalid_state().with_hint(format!(
            "Request parameter 'state' must be at least be {MIN_ENTROPY} characters long to ensure sufficient entropy."
        ))));
    }
    let nonce = get("nonce")?;
    if !nonce.is_empty() && nonce.chars().count() < MIN_ENTROPY {
        return Err(to_client(ApiError::insufficient_entropy().with_hint(format!(
            "Parameter 'nonce' is set but does not satisfy the minimum entropy of {MIN_ENTROPY} characters."
        ))));
    }
    // Only where an ID token comes from this endpoint (fosite: `token` alone or `code token`
    // carry no ID token here and need no nonce).
    if nonce.is_empty() && is_openid && has("id_token") {
        return Err(to_client(
            ApiError::invalid_request()
                .with_hint("Parameter 'nonce' is required for OpenID Connect implicit and hybrid flows."),
        ));
    }
    let code_challenge = get("code_challenge")?;
    if response_types.iter().any(|t| t == "code") {
        let required = cfg.pkce_enforced || (cfg.pkce_enforced_for_public_clients && client.is_public());
        pkce::check_challenge(&code_challenge, &get("code_challenge_method")?, required).map_err(to_client)?;
    }

    // 7. OpenID Connect parameters.
    let prompt = split(&get("prompt")?);
    if let Some(bad) = prompt.iter().find(|p| !PROMPT_VALUES.contains(&p.as_str())) {
        return Err(to_client(
            ApiError::invalid_request().with_hint(format!("Used unknown value '{bad}' for prompt parameter.")),
        ));
    }
    if prompt.iter().any(|p| p == "none") && prompt.len() > 1 {
        return Err(to_client(ApiError::invalid_request().with_hint(
            "Parameter 'prompt' was set to 'none', but contains other values as well which is not allowed.",
        )));
    }
    let max_age = match get("max_age")?.as_str() {
        "" => None,
        v => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            to_client(ApiError::invalid_request().with_hint("Parameter 'max_age' must be a non-negative integer."))
        })?),
    };
    let claims = get("claims")?;
    if !claims.is_empty() && !serde_json::from_str::<Value>(&claims).map(|v| v.is_object()).unwrap_or(false) {
        return Err(to_client(ApiError::invalid_request().with_hint("Parameter 'claims' must be a JSON object.")));
    }

    Ok(AuthorizeRequest {
        client_id: client.client_id.clone(),
        response_types,
        redirect_uri,
        redirect_uri_given,
        response_mode,
        state,
        nonce,
        scopes,
        audience,
        code_challenge,
        prompt,
        max_age,
        acr_values: split(&get("acr_values")?),
        ui_locales: split(&get("ui_locales")?),
        display: get("display")?,
        login_hint: get("login_hint")?,
        id_token_hint: get("id_token_hint")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::test_config;

    fn client() -> Client {
        Client {
            client_id: "c".into(),
            redirect_uris: Some(vec!["https://app.example/cb".into(), "http://127.0.0.1:3000/cb".into()]),
            grant_types: Some(vec!["authorization_code".into(), "implicit".into()]),
            response_types: Some(vec!["code".into(), "id_token".into(), "code id_token".into()]),
            scope: "openid offline photos.*".into(),
            audience: vec!["https://api.example".into()],
            token_endpoint_auth_method: "client_secret_basic".into(),
            ..Default::default()
        }
    }

    const OK: &str = "client_id=c&response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid+photos.read&state=12345678";

    fn run(q: &str) -> Result<AuthorizeRequest, Rejection> {
        validate(&test_config(), &client(), &Form::parse(q.as_bytes()).unwrap())
    }

    fn rejects(q: &str, error: &str, to_client: bool) {
        let r = run(q).unwrap_err();
        assert_eq!(r.error.error, error, "{q}: {:?}", r.error);
        assert_eq!(r.target.is_some(), to_client, "{q}");
    }

    #[test]
    fn accepts_a_good_request() {
        let r = run(OK).unwrap();
        assert_eq!(r.response_types, vec!["code"]);
        assert_eq!(r.response_mode, ResponseMode::Query);
        assert!(r.redirect_uri_given);
        assert_eq!(r.scopes, vec!["openid", "photos.read"]);
        let r = run(&OK.replace("https%3A%2F%2Fapp.example%2Fcb", "http%3A%2F%2F127.0.0.1%3A5555%2Fcb")).unwrap();
        assert_eq!(r.redirect_uri, "http://127.0.0.1:5555/cb");
        let hybrid =
            run(&format!("{}&nonce=abcdefgh", OK.replace("response_type=code", "response_type=id_token+code")))
                .unwrap();
        assert_eq!(hybrid.response_types, vec!["code", "id_token"]);
        assert_eq!(hybrid.response_mode, ResponseMode::Fragment);
    }

    /// Fosite's rules: a hybrid `code id_token` needs the code grant only; `token` needs the
    /// implicit grant; a nonce is required only where this endpoint returns an ID token.
    #[test]
    fn grants_and_nonces_follow_fosite() {
        let mut code_only = client();
        code_only.grant_types = Some(vec!["authorization_code".into()]);
        code_only.response_types = Some(vec!["code id_token".into(), "token".into()]);
        let with = |c: &Client, q: &str| validate(&test_config(), c, &Form::parse(q.as_bytes()).unwrap());
        let hybrid = OK.replace("response_type=code", "response_type=code+id_token");
        assert!(with(&code_only, &format!("{hybrid}&nonce=abcdefgh")).is_ok());
        assert_eq!(with(&code_only, &hybrid).unwrap_err().error.error, "invalid_request", "no nonce");
        let token = OK.replace("response_type=code", "response_type=token");
        assert_eq!(with(&code_only, &token).unwrap_err().error.error, "unauthorized_client");
        let mut implicit = client();
        implicit.response_types = Some(vec!["token".into()]);
        assert!(with(&implicit, &token).is_ok(), "token with openid needs no nonce: no ID token here");
    }

    #[test]
    fn redirect_problems_go_to_the_error_page() {
        rejects(&OK.replace("app.example", "evil.example"), "invalid_request", false);
        rejects(&OK.replace("redirect_uri=https%3A%2F%2Fapp.example%2Fcb&", ""), "invalid_request", false);
        rejects(&format!("{OK}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"), "invalid_request", false);
    }

    #[test]
    fn other_problems_go_to_the_client() {
        rejects(&OK.replace("response_type=code", "response_type=token"), "unsupported_response_type", true);
        rejects(&OK.replace("response_type=code", "response_type=magic"), "unsupported_response_type", true);
        rejects(&OK.replace("response_type=code&", ""), "unsupported_response_type", true);
        rejects(&format!("{OK}&response_mode=banana"), "unsupported_response_mode", true);
        rejects(&OK.replace("photos.read", "admin"), "invalid_scope", true);
        rejects(&OK.replace("state=12345678", "state=short"), "invalid_state", true);
        rejects(&OK.replace("&state=12345678", ""), "invalid_state", true);
        rejects(&format!("{OK}&nonce=short"), "insufficient_entropy", true);
        rejects(&format!("{OK}&code_challenge_method=plain&code_challenge=abc"), "invalid_request", true);
        rejects(&format!("{OK}&prompt=none+login"), "invalid_request", true);
        rejects(&format!("{OK}&prompt=bogus"), "invalid_request", true);
        rejects(&format!("{OK}&max_age=-1"), "invalid_request", true);
        rejects(&format!("{OK}&audience=https%3A%2F%2Fevil.example"), "invalid_request", true);
        rejects(&format!("{OK}&request=eyJ"), "request_not_supported", true);
        rejects(&format!("{OK}&claims=%5B1%5D"), "invalid_request", true);
        rejects(
            &OK.replace("response_type=code", "response_type=id_token").replace("scope=openid+", "scope="),
            "invalid_request",
            true,
        );
        rejects(&OK.replace("response_type=code", "response_type=id_token"), "invalid_request", true);
    }

    #[test]
    fn pkce_required_for_public_clients() {
        let mut c = client();
        c.token_endpoint_auth_method = "none".into();
        let form = Form::parse(OK.as_bytes()).unwrap();
        let r = validate(&test_config(), &c, &form).unwrap_err();
        assert_eq!(r.error.error, "invalid_request");
        assert!(r.error.hint.contains("code_challenge"));
        let with =
            format!("{OK}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256");
        assert!(validate(&test_config(), &c, &Form::parse(with.as_bytes()).unwrap()).is_ok());
    }

    #[test]
    fn error_state_is_echoed_and_mode_respected() {
        let r = run(&format!("{}&response_mode=form_post", OK.replace("photos.read", "admin"))).unwrap_err();
        let t = r.target.unwrap();
        assert_eq!(t.mode, ResponseMode::FormPost);
        assert_eq!(t.state, "12345678");
    }
}
