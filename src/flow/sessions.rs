//! `/admin/oauth2/auth/sessions/consent` (list, revoke) and `/admin/oauth2/auth/sessions/login`
//! (revoke), with Hydra's parameters, models and messages.

use serde_json::{json, Value};

use crate::clients::rfc3339;
use crate::compat::v1::{self, Page};
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::pagination::{self, page_size};
use crate::platform::Platform;
use crate::store;
use crate::store::sessions::{ConsentSelector, ListedConsent};

/// Hydra's `oAuth2ConsentSession`: the grant, and the consent request it answered (with an
/// empty `challenge`, as Hydra lists it).
pub fn consent_session_view(l: &ListedConsent) -> Value {
    let r = &l.row;
    let d = &r.data;
    let field = |name: &str, default: Value| d.get(name).filter(|v| !v.is_null()).cloned().unwrap_or(default);
    let request_url = d.get("request_url").and_then(Value::as_str).unwrap_or("");
    let ar = crate::authorize::parse_loose(request_url);
    let mut request = json!({
        "challenge": "",
        "consent_request_id": r.id,
        "requested_scope": field("requested_scope", json!([])),
        "requested_access_token_audience": field("requested_access_token_audience", json!([])),
        "skip": r.skipped,
        "subject": r.subject,
        "oidc_context": super::oidc_context(&ar, &json!({})),
        "request_url": request_url,
        "login_challenge": field("login_challenge", json!("")),
        "login_session_id": r.login_session_id,
        "acr": field("acr", json!("")),
        "amr": field("amr", json!([])),
    });
    // Hydra keeps one context per flow: the consent app's when it sent one, else the login
    // app's; the session and its consent request show the same.
    let context = d.get("context").filter(|v| !v.is_null()).or_else(|| d.get("login_context").filter(|v| !v.is_null()));
    if let Some(context) = context {
        request["context"] = context.clone();
    }
    // Left out when the client is gone, as for a logout request without one.
    if let Some(c) = &l.client {
        request["client"] = json!(c.public_view());
    }
    json!({
        "consent_request_id": r.id,
        "grant_scope": r.grant_scope,
        "grant_access_token_audience": field("grant_access_token_audience", json!([])),
        "session": field("session", json!({"access_token": {}, "id_token": {}})),
        "remember": r.remember,
        "remember_for": r.remember_for,
        "handled_at": rfc3339(r.handled_at),
        "context": context.cloned().unwrap_or_else(|| json!({})),
        "consent_request": request,
    })
}

/// `GET /admin/oauth2/auth/sessions/consent?subject=`: the subject's granted consents, in the
/// order they were given, with `Link` pagination like the client list (or v1's `limit`/`offset`
/// with `X-Total-Count`, [`Page::Offset`]).
pub async fn list_consents<P: Platform>(ctx: &Ctx<'_, P>, req: &Request, page: Page) -> ApiResult<Response> {
    let subject = req.query_param("subject").unwrap_or_default();
    if subject.is_empty() {
        return Err(
            ApiError::invalid_request().with_hint("Query parameter 'subject' is not defined but should have been.")
        );
    }
    let login_session_id = req.query_param("login_session_id").unwrap_or_default();
    if let Page::Offset { limit, offset } = page {
        let (rows, total) =
            store::sessions::list_consents_offset(ctx.p, &subject, &login_session_id, offset, limit, ctx.p.now())
                .await?;
        let body: Vec<Value> = rows.iter().map(consent_session_view).collect();
        let keep = [("subject", subject.as_str()), ("login_session_id", login_session_id.as_str())];
        let url = ctx.cfg.public(&req.path);
        return Ok(v1::offset_headers(Response::json(200, &body), &url, &keep, limit, offset, total));
    }
    let size = page_size(req.query_param("page_size").as_deref())?;
    let after = pagination::after(ctx, req).ok_or_else(|| {
        ApiError::invalid_request().with_hint(
            "Unable to parse pagination parameters: the page_token is invalid or has expired; start again from the first page.",
        )
    })?;
    let mut rows = store::sessions::list_consents(ctx.p, &subject, &login_session_id, after, size, ctx.p.now()).await?;
    let has_next = rows.len() as i64 > size;
    rows.truncate(size as usize);
    let next = if has_next { rows.last().map(|r| r.pk) } else { None };
    let filters = [("subject", subject.as_str()), ("login_session_id", login_session_id.as_str())];
    let links = pagination::link_header(ctx, req, &filters, size, next);
    let body: Vec<Value> = rows.iter().map(consent_session_view).collect();
    Ok(Response::json(200, &body).with_header("link", &links))
}

/// Which consents a `DELETE` names: exactly one of Hydra's three combinations.
pub fn selector(subject: &str, client: &str, consent_request_id: &str, all: bool) -> ApiResult<ConsentSelector> {
    match (subject.is_empty(), client.is_empty(), consent_request_id.is_empty(), all) {
        (true, true, false, _) => Ok(ConsentSelector::RequestId(consent_request_id.to_string())),
        (false, false, true, false) => {
            Ok(ConsentSelector::SubjectClient { subject: subject.to_string(), client: client.to_string() })
        }
        (false, true, true, true) => Ok(ConsentSelector::Subject(subject.to_string())),
        _ => Err(ApiError::invalid_request().with_hint("Invalid combination of query parameters.")),
    }
}

/// `DELETE /admin/oauth2/auth/sessions/consent`: 204; the consents are gone (the next flow asks
/// again) and every access and refresh token of them is inactive, in one transaction.
pub async fn revoke_consents<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let q = |name: &str| req.query_param(name).unwrap_or_default();
    let sel = selector(&q("subject"), &q("client"), &q("consent_request_id"), q("all") == "true")?;
    store::sessions::revoke_consents(ctx.p, &sel).await?;
    Ok(Response::new(204))
}

/// `DELETE /admin/oauth2/auth/sessions/login?subject=|sid=`: 204. By subject, every login
/// session of the subject goes (no notifications, as in Hydra); by `sid`, that session goes and
/// its relying parties get back-channel logout (headless logout; at most once).
pub async fn revoke_login_sessions<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let sid = req.query_param("sid").unwrap_or_default();
    let subject = req.query_param("subject").unwrap_or_default();
    if sid.is_empty() && subject.is_empty() {
        return Err(
            ApiError::invalid_request().with_hint("Either 'subject' or 'sid' query parameters need to be defined.")
        );
    }
    if !sid.is_empty() {
        if let Some(clients) = store::sessions::delete_login_session(ctx.p, &sid).await? {
            super::backchannel::notify(ctx, &clients, &sid).await?;
        }
        return Ok(Response::new(204));
    }
    store::sessions::delete_subject_login_sessions(ctx.p, &subject).await?;
    Ok(Response::new(204))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hydras_combinations() {
        assert_eq!(selector("", "", "r1", false).unwrap(), ConsentSelector::RequestId("r1".into()));
        assert_eq!(
            selector("u", "c", "", false).unwrap(),
            ConsentSelector::SubjectClient { subject: "u".into(), client: "c".into() }
        );
        assert_eq!(selector("u", "", "", true).unwrap(), ConsentSelector::Subject("u".into()));
        for (s, c, r, all) in [
            ("u", "", "", false),
            ("u", "c", "", true),
            ("", "c", "", false),
            ("u", "", "r", false),
            ("", "", "", false),
            ("", "", "", true),
            ("u", "c", "r", false),
        ] {
            let e = selector(s, c, r, all).unwrap_err();
            assert_eq!((e.status, e.error.as_str()), (400, "invalid_request"));
            assert!(e.hint.contains("Invalid combination of query parameters."));
        }
    }
}
