//! `list|delete consent-sessions`: `/admin/oauth2/auth/sessions/consent`. Hydra's CLI has no
//! such command; the shape follows its other list/delete commands and the API's parameters.

use serde_json::Value;

use crate::api::{next_page_token, with_query, Auth, Body};
use crate::cli::Env;
use crate::clients::paginated;
use crate::error::Error;
use crate::output::{joined, s, View};

#[derive(clap::Args, Clone)]
pub struct ListArgs {
    /// The subject (user) whose consent sessions to list.
    pub subject: String,
    /// Only the sessions of this login session.
    #[arg(long = "login-session-id", allow_hyphen_values = true)]
    pub login_session_id: Option<String>,
    #[arg(long = "page-size", default_value_t = 100)]
    pub page_size: u32,
    // Page tokens are base64url: they may begin with "-".
    #[arg(long = "page-token", default_value = "", allow_hyphen_values = true)]
    pub page_token: String,
}

#[derive(clap::Args, Clone)]
pub struct DeleteArgs {
    /// The subject whose consent sessions to revoke (with --client or --all).
    pub subject: Option<String>,
    /// Revoke the subject's consent sessions with this client.
    #[arg(long)]
    pub client: Option<String>,
    /// Revoke all of the subject's consent sessions.
    #[arg(long)]
    pub all: bool,
    /// Revoke one consent session by its consent request id (without a subject).
    #[arg(long = "consent-request-id", allow_hyphen_values = true)]
    pub consent_request_id: Option<String>,
}

const HEADER: [&str; 6] = ["CONSENT REQUEST ID", "CLIENT ID", "GRANTED SCOPE", "AUDIENCE", "REMEMBER", "HANDLED AT"];

fn columns(c: &Value) -> Vec<String> {
    let request = c.get("consent_request").cloned().unwrap_or(Value::Null);
    let client = request.get("client").cloned().unwrap_or(Value::Null);
    let id = match s(c, "consent_request_id") {
        id if id.is_empty() => s(&request, "challenge"),
        id => id,
    };
    vec![
        id,
        s(&client, "client_id"),
        joined(c, "grant_scope"),
        joined(c, "grant_access_token_audience"),
        s(c, "remember"),
        s(c, "handled_at"),
    ]
}

pub fn list(env: &Env, a: &ListArgs) -> Result<(), Error> {
    let size = a.page_size.to_string();
    let path = with_query(
        "/admin/oauth2/auth/sessions/consent",
        &[
            ("subject", &a.subject),
            ("login_session_id", a.login_session_id.as_deref().unwrap_or("")),
            ("page_size", &size),
            ("page_token", &a.page_token),
        ],
    );
    let (v, link) = env.api.get(&path)?;
    let items = v.as_array().cloned().unwrap_or_default();
    let view = View::table(HEADER.to_vec(), items.iter().map(columns).collect(), Value::Null);
    env.print(&paginated(view, items, next_page_token(link.as_deref()).unwrap_or_default()))
}

/// The query of a revocation: exactly one of subject + client, subject + all, or a consent
/// request id (the combinations Hydra accepts).
pub fn delete_query(a: &DeleteArgs) -> Result<Vec<(&'static str, String)>, Error> {
    match (&a.subject, &a.client, a.all, &a.consent_request_id) {
        (Some(sub), Some(client), false, None) => Ok(vec![("subject", sub.clone()), ("client", client.clone())]),
        (Some(sub), None, true, None) => Ok(vec![("subject", sub.clone()), ("all", "true".into())]),
        (None, None, false, Some(id)) => Ok(vec![("consent_request_id", id.clone())]),
        _ => {
            Err(Error::Usage("give a subject with --client CLIENT_ID or --all, or only --consent-request-id ID".into()))
        }
    }
}

pub fn delete(env: &Env, a: &DeleteArgs) -> Result<(), Error> {
    let q = delete_query(a)?;
    let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.api.send("DELETE", &with_query("/admin/oauth2/auth/sessions/consent", &pairs), Auth::Admin, Body::Empty)?;
    let id = a.subject.clone().or_else(|| a.consent_request_id.clone()).unwrap_or_default();
    env.print(&View::ids(vec![id]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(subject: Option<&str>, client: Option<&str>, all: bool, id: Option<&str>) -> DeleteArgs {
        DeleteArgs {
            subject: subject.map(str::to_string),
            client: client.map(str::to_string),
            all,
            consent_request_id: id.map(str::to_string),
        }
    }

    #[test]
    fn only_hydras_parameter_combinations_are_sent() {
        assert_eq!(delete_query(&args(Some("u"), Some("c"), false, None)).unwrap().len(), 2);
        assert_eq!(delete_query(&args(Some("u"), None, true, None)).unwrap()[1], ("all", "true".to_string()));
        assert_eq!(delete_query(&args(None, None, false, Some("r"))).unwrap().len(), 1);
        for bad in [
            args(Some("u"), None, false, None),
            args(Some("u"), Some("c"), true, None),
            args(None, Some("c"), false, None),
            args(Some("u"), None, false, Some("r")),
            args(None, None, false, None),
        ] {
            assert!(matches!(delete_query(&bad), Err(Error::Usage(_))));
        }
    }

    #[test]
    fn sessions_show_client_scope_and_time() {
        let c = json!({
            "consent_request_id": "r1", "grant_scope": ["openid", "offline"], "remember": true,
            "handled_at": "2026-01-01T00:00:00Z", "consent_request": {"client": {"client_id": "app"}},
        });
        assert_eq!(columns(&c), vec!["r1", "app", "openid, offline", "", "true", "2026-01-01T00:00:00Z"]);
    }
}
