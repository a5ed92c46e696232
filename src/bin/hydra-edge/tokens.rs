//! `introspect token`, `revoke token`, `delete access-tokens`, `perform client-credentials`.

use serde_json::{json, Value};

use crate::api::{with_query, Auth, Body};
use crate::cli::{value_or_stdin, ClientCredentials, Env};
use crate::error::Error;
use crate::output::{s, View};

#[derive(clap::Args, Clone)]
pub struct IntrospectArgs {
    /// The token (`-`: read it from standard input, which keeps it out of the process list).
    // Its own id: the global `--token` (the admin token) is `token` already, and clap would
    // otherwise let one overwrite the other.
    #[arg(id = "subject_token", value_name = "TOKEN")]
    pub token: String,
    /// Also check that these scopes were granted.
    #[arg(long, value_delimiter = ',')]
    pub scope: Vec<String>,
}

#[derive(clap::Args, Clone)]
pub struct RevokeArgs {
    /// The token (`-`: read it from standard input).
    #[arg(id = "subject_token", value_name = "TOKEN")]
    pub token: String,
    #[command(flatten)]
    pub client: ClientCredentials,
}

#[derive(clap::Args, Clone)]
pub struct ClientCredentialsArgs {
    #[command(flatten)]
    pub client: ClientCredentials,
    /// Scopes to request.
    #[arg(long, value_delimiter = ',')]
    pub scope: Vec<String>,
    /// Audiences to request.
    #[arg(long, value_delimiter = ',')]
    pub audience: Vec<String>,
}

/// Seconds since the epoch as RFC 3339 UTC ("" for none).
pub fn time_of(secs: Option<i64>) -> String {
    secs.map(hydra_edge::rfc3339::format).unwrap_or_default()
}

pub fn introspect(env: &Env, a: &IntrospectArgs) -> Result<(), Error> {
    let token = value_or_stdin(&a.token)?;
    let scope = a.scope.join(" ");
    let mut form = vec![("token", token.as_str())];
    if !scope.is_empty() {
        form.push(("scope", scope.as_str()));
    }
    let v = env.api.send("POST", "/admin/oauth2/introspect", Auth::Admin, Body::Form(&form))?.json()?;
    let active = v.get("active").and_then(Value::as_bool).unwrap_or(false);
    let row = vec![
        active.to_string(),
        s(&v, "sub"),
        s(&v, "client_id"),
        s(&v, "scope"),
        time_of(v.get("exp").and_then(Value::as_i64)),
        s(&v, "token_use"),
    ];
    env.print(&View::row(vec!["ACTIVE", "SUBJECT", "CLIENT ID", "SCOPE", "EXPIRY", "TOKEN USE"], row, v))
}

/// Client authentication for the public endpoints: Basic with a secret, else (a public
/// client) the client id in the body.
fn client_auth<'a>(id: &'a str, secret: &'a Option<String>) -> (Auth<'a>, Option<(&'static str, &'a str)>) {
    match secret {
        Some(secret) => (Auth::Basic(id, secret), None),
        None => (Auth::None, Some(("client_id", id))),
    }
}

fn required_client_id(c: &ClientCredentials) -> Result<String, Error> {
    c.id().ok_or_else(|| Error::Usage("pass the client with --client-id (or OAUTH2_CLIENT_ID)".into()))
}

pub fn revoke(env: &Env, a: &RevokeArgs) -> Result<(), Error> {
    let token = value_or_stdin(&a.token)?;
    let id = required_client_id(&a.client)?;
    let secret = a.client.secret();
    let (auth, in_body) = client_auth(&id, &secret);
    let mut form = vec![("token", token.as_str())];
    form.extend(in_body);
    env.api.send("POST", "/oauth2/revoke", auth, Body::Form(&form))?;
    // Unlike Hydra's CLI, the token itself is not printed back.
    env.print(&View::row(vec!["REVOKED"], vec!["true".into()], json!({"revoked": true})))
}

pub fn delete_access_tokens(env: &Env, client_id: &str) -> Result<(), Error> {
    let path = with_query("/admin/oauth2/tokens", &[("client_id", client_id)]);
    env.api.send("DELETE", &path, Auth::Admin, Body::Empty)?;
    env.print(&View::ids(vec![client_id.to_string()]))
}

/// A token response as Hydra's CLI prints it: the tokens and their expiry.
pub fn token_view(mut t: Value, now: i64) -> View {
    let expiry = t.get("expires_in").and_then(Value::as_i64).map(|e| now + e);
    if let (Some(exp), Some(o)) = (expiry, t.as_object_mut()) {
        o.insert("expiry".into(), json!(time_of(Some(exp))));
    }
    let or_empty = |v: String| if v.is_empty() { "<empty>".to_string() } else { v };
    let row =
        vec![s(&t, "access_token"), or_empty(s(&t, "refresh_token")), or_empty(s(&t, "id_token")), time_of(expiry)];
    View::row(vec!["ACCESS TOKEN", "REFRESH TOKEN", "ID TOKEN", "EXPIRY"], row, t)
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

pub fn client_credentials(env: &Env, a: &ClientCredentialsArgs) -> Result<(), Error> {
    let id = required_client_id(&a.client)?;
    let secret = a.client.secret().ok_or_else(|| {
        Error::Usage("pass the client's secret with --client-secret (or OAUTH2_CLIENT_SECRET)".into())
    })?;
    let scope = a.scope.join(" ");
    let audience = a.audience.join(" ");
    let mut form = vec![("grant_type", "client_credentials")];
    if !scope.is_empty() {
        form.push(("scope", &scope));
    }
    if !audience.is_empty() {
        form.push(("audience", &audience));
    }
    let t = env.api.send("POST", "/oauth2/token", Auth::Basic(&id, &secret), Body::Form(&form))?.json()?;
    env.print(&token_view(t, now()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Format;

    #[test]
    fn token_views_show_expiry_and_empty_markers() {
        let v = token_view(json!({"access_token": "at", "expires_in": 3600, "token_type": "bearer"}), 1_700_000_000);
        let table = v.render(&Format::Table).unwrap();
        assert!(table.contains("REFRESH TOKEN  <empty>"), "{table}");
        assert!(table.contains("EXPIRY         2023-11-14T23:13:20Z"), "{table}");
        assert_eq!(v.json["expiry"], "2023-11-14T23:13:20Z");
        assert_eq!(v.json["access_token"], "at");
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(time_of(Some(0)), "1970-01-01T00:00:00Z");
        assert_eq!(time_of(None), "");
    }
}
