//! v1.0-beta: the challenge of a login or consent request, and the user and client of a
//! session, travel in the path (`/oauth2/auth/requests/login/{challenge}/accept`,
//! `/oauth2/auth/sessions/consent/{user}/{client}`). The adapter moves them into the query
//! parameters the handlers read (`login_challenge`, `subject`, `client`). A request that also
//! names them in the query is refused: the two forms must not disagree, so they must not meet.
//!
//! v1.0-beta refused unknown members in accept and reject bodies; so do its forms here.

use super::{has_param, only_fields, with_query};
use crate::error::{ApiError, ApiResult};
use crate::http::{Method, Request};
use crate::router::Route;

/// `AcceptLoginRequest` of v1.0-beta (`context` arrived in beta.9).
pub const ACCEPT_LOGIN: &[&str] =
    &["subject", "remember", "remember_for", "acr", "force_subject_identifier", "context"];
/// `AcceptConsentRequest` of v1.0-beta.
pub const ACCEPT_CONSENT: &[&str] =
    &["grant_scope", "grant_access_token_audience", "session", "remember", "remember_for"];
/// `RejectRequest` of v1.0-beta.
pub const REJECT: &[&str] = &["error", "error_description", "error_hint", "error_debug", "status_code"];

/// The request with its path parameters moved into the query: the v1.x request it stands for
/// (path included, so links the handler builds name the v1.x form).
pub fn adapt(route: &Route, req: &Request, params: &[String]) -> ApiResult<Request> {
    let mut out = moved(route, req, params)?;
    if let Some(path) = v1_path(route) {
        out.path = path.to_string();
    }
    Ok(out)
}

/// The v1.x path of an operation v1.0-beta had in another form.
fn v1_path(route: &Route) -> Option<&'static str> {
    Some(match route {
        Route::LoginRequest => "/oauth2/auth/requests/login",
        Route::LoginAccept => "/oauth2/auth/requests/login/accept",
        Route::LoginReject => "/oauth2/auth/requests/login/reject",
        Route::ConsentRequest => "/oauth2/auth/requests/consent",
        Route::ConsentAccept => "/oauth2/auth/requests/consent/accept",
        Route::ConsentReject => "/oauth2/auth/requests/consent/reject",
        Route::ConsentSessions => "/oauth2/auth/sessions/consent",
        Route::LoginSessions => "/oauth2/auth/sessions/login",
        _ => return None,
    })
}

fn moved(route: &Route, req: &Request, params: &[String]) -> ApiResult<Request> {
    let first = params.first().map(String::as_str).unwrap_or("");
    match route {
        Route::LoginRequest | Route::LoginAccept | Route::LoginReject => {
            let body = match route {
                Route::LoginAccept => Some((ACCEPT_LOGIN, "the v1.0-beta login acceptance")),
                Route::LoginReject => Some((REJECT, "the v1.0-beta rejection")),
                _ => None,
            };
            challenge(req, "login", first, body)
        }
        Route::ConsentRequest | Route::ConsentAccept | Route::ConsentReject => {
            let body = match route {
                Route::ConsentAccept => Some((ACCEPT_CONSENT, "the v1.0-beta consent acceptance")),
                Route::ConsentReject => Some((REJECT, "the v1.0-beta rejection")),
                _ => None,
            };
            challenge(req, "consent", first, body)
        }
        Route::ConsentSessions => {
            refuse_query(req, &["subject", "client", "all", "consent_request_id", "login_session_id"])?;
            match (req.method, params.get(1)) {
                (Method::Delete, Some(client)) => Ok(with_query(req, &[("subject", first), ("client", client)])),
                // v1.0-beta's `DELETE …/consent/{user}` revoked every client's consent.
                (Method::Delete, None) => Ok(with_query(req, &[("subject", first), ("all", "true")])),
                _ => Ok(with_query(req, &[("subject", first)])),
            }
        }
        Route::LoginSessions => {
            refuse_query(req, &["subject", "sid"])?;
            Ok(with_query(req, &[("subject", first)]))
        }
        _ => Ok(req.clone()),
    }
}

/// The challenge from the path into `<what>_challenge`, after checking the body's members.
fn challenge(req: &Request, what: &str, value: &str, body: Option<(&[&str], &str)>) -> ApiResult<Request> {
    if has_param(req, &format!("{what}_challenge")) || has_param(req, "challenge") {
        return Err(ApiError::bad_request(format!(
            "The {what} challenge is given in the path and in the query; send it in one place only."
        )));
    }
    if let Some((known, model)) = body {
        only_fields(req, known, model)?;
    }
    Ok(with_query(req, &[(&format!("{what}_challenge"), value)]))
}

/// Refuse query parameters the path form already sets.
fn refuse_query(req: &Request, names: &[&str]) -> ApiResult<()> {
    match names.iter().find(|n| has_param(req, n)) {
        None => Ok(()),
        Some(n) => Err(ApiError::bad_request(format!(
            "The query parameter '{n}' cannot be combined with the user and client in the path; use one form."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, target: &str, body: &str) -> Request {
        let mut r = Request::new(method, target);
        r.body = body.as_bytes().to_vec();
        r
    }

    #[test]
    fn challenges_move_into_the_query() {
        let r = adapt(&Route::LoginRequest, &req(Method::Get, "/x", ""), &["a+b/c".into()]).unwrap();
        assert_eq!(r.query_param("login_challenge").as_deref(), Some("a+b/c"));
        let r = adapt(&Route::ConsentAccept, &req(Method::Put, "/x", r#"{"grant_scope":["openid"]}"#), &["c".into()]);
        assert_eq!(r.unwrap().query_param("consent_challenge").as_deref(), Some("c"));
    }

    #[test]
    fn a_challenge_in_both_places_is_refused() {
        for q in ["/x?login_challenge=other", "/x?login_challenge=same", "/x?challenge=same"] {
            let e = adapt(&Route::LoginRequest, &req(Method::Get, q, ""), &["same".into()]).unwrap_err();
            assert_eq!(e.status, 400, "{q}");
            assert!(e.description.contains("path and in the query"));
        }
    }

    #[test]
    fn bodies_are_v1_beta_shaped() {
        let body = r#"{"subject":"a","amr":["pwd"]}"#;
        let e = adapt(&Route::LoginAccept, &req(Method::Put, "/x", body), &["c".into()]).unwrap_err();
        assert!(e.description.contains("\"amr\""));
        let body = r#"{"grantScopes":["openid"]}"#;
        let e = adapt(&Route::ConsentAccept, &req(Method::Put, "/x", body), &["c".into()]).unwrap_err();
        assert!(e.description.contains("grantScopes"));
        let body = r#"{"error":"access_denied","reason":"no"}"#;
        assert!(adapt(&Route::ConsentReject, &req(Method::Put, "/x", body), &["c".into()]).is_err());
    }

    #[test]
    fn sessions_by_path() {
        let get = adapt(&Route::ConsentSessions, &req(Method::Get, "/x", ""), &["alice".into()]).unwrap();
        assert_eq!((get.path.as_str(), get.query.as_str()), ("/oauth2/auth/sessions/consent", "subject=alice"));
        let all = adapt(&Route::ConsentSessions, &req(Method::Delete, "/x", ""), &["alice".into()]).unwrap();
        assert_eq!(all.query, "subject=alice&all=true");
        let one =
            adapt(&Route::ConsentSessions, &req(Method::Delete, "/x", ""), &["alice".into(), "app 1".into()]).unwrap();
        assert_eq!(one.query, "subject=alice&client=app+1");
        let login = adapt(&Route::LoginSessions, &req(Method::Delete, "/x", ""), &["alice".into()]).unwrap();
        assert_eq!(login.query, "subject=alice");
        let e = adapt(&Route::ConsentSessions, &req(Method::Delete, "/x?subject=bob", ""), &["alice".into()]);
        assert_eq!(e.unwrap_err().status, 400);
        let e = adapt(&Route::LoginSessions, &req(Method::Delete, "/x?sid=s", ""), &["alice".into()]);
        assert_eq!(e.unwrap_err().status, 400);
    }
}
