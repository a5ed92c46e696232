//! `/oauth2/auth`: the authorization endpoint.
//!
//! One URL serves three moments of a flow: the client's initial request (validated, then the
//! login leg starts), the browser's return with `login_verifier` (then the consent leg), and
//! its return with `consent_verifier` (then the final 303 to the client with a code and/or
//! tokens). The legs themselves live in [`crate::flow`].
//!
//! * `request.rs`: validating an authorization request.
//! * `response.rs`: redirect-URI matching, response modes, error delivery.
//! * `scope.rs`, `pkce.rs`: scope/audience matching and PKCE.

pub mod pkce;
pub mod request;
pub mod response;
pub mod scope;

use serde::{Deserialize, Serialize};

use crate::clients::model::Client;
use crate::crypto::opaque::{self, TokenKind};
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::flow::{self, ConsentVerifier};
use crate::http::form::Form;
use crate::http::{Method, Request, Response};
use crate::platform::Platform;
use crate::store;
use crate::store::flows::Claim;
use crate::store::tokens::{insert_code_after_marker, insert_token_after_marker, CodeRow};
use crate::token::issue::{self, lifetimes, Grant, GrantKind};
use request::{AuthorizeRequest, Rejection};

/// What an authorization code remembers for the token endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeData {
    pub grant: Grant,
    pub redirect_uri: String,
    pub redirect_uri_given: bool,
    pub code_challenge: String,
}

fn render(ctx_cfg: &crate::config::Config, r: Rejection) -> Response {
    match r.target {
        Some(t) => response::error_to_client(ctx_cfg, &t, &r.error),
        None => response::error_page(ctx_cfg, &r.error),
    }
}

/// `GET|POST /oauth2/auth`. Never fails as a whole: every error is delivered to the client or
/// to the error page.
pub async fn handle<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Response {
    let bad = |hint: String| response::error_page(ctx.cfg, &ApiError::invalid_request().with_hint(hint));
    let query = match Form::parse(req.query.as_bytes()) {
        Ok(f) => f,
        Err(e) => return bad(e.to_string()),
    };
    let form = if req.method == Method::Post && !req.body.is_empty() {
        if req.content_type() != "application/x-www-form-urlencoded" {
            return bad("A POST to the authorization endpoint must be application/x-www-form-urlencoded.".into());
        }
        match Form::parse(&req.body) {
            Ok(body) => Form::merged(query, body),
            Err(e) => return bad(e.to_string()),
        }
    } else {
        query
    };
    let verifier = |name: &str| form.get(name).map(|v| v.map(str::to_string));
    // v0.10's return leg: `consent=<id>`, only when a v0.10 consent app is configured.
    if ctx.cfg.consent_v0_10.is_some() {
        match verifier("consent") {
            Err(e) => return bad(e.to_string()),
            Ok(None) => {}
            Ok(Some(_))
                if form.get("login_verifier").ok().flatten().is_some()
                    || form.get("consent_verifier").ok().flatten().is_some() =>
            {
                return bad("A request cannot carry a v0.10 consent id and a login or consent verifier.".into())
            }
            Ok(Some(id)) => return flow::consent_v0_10::finish(ctx, req, &form, &id).await,
        }
    }
    match (verifier("login_verifier"), verifier("consent_verifier")) {
        (Err(e), _) | (_, Err(e)) => bad(e.to_string()),
        (Ok(Some(_)), Ok(Some(_))) => bad("A request cannot carry both a login and a consent verifier.".into()),
        (Ok(Some(v)), _) => flow::login::finish(ctx, req, &form, &v).await,
        (_, Ok(Some(v))) => flow::consent::finish(ctx, req, &form, &v).await,
        _ => start(ctx, req, &form).await,
    }
}

async fn start<P: Platform>(ctx: &Ctx<'_, P>, req: &Request, form: &Form) -> Response {
    let client_id = match form.get("client_id") {
        Ok(Some(id)) => id.to_string(),
        Ok(None) => {
            return response::error_page(
                ctx.cfg,
                &ApiError::invalid_request().with_hint("The 'client_id' parameter is missing."),
            )
        }
        Err(e) => return response::error_page(ctx.cfg, &ApiError::invalid_request().with_hint(e.to_string())),
    };
    let client = match load_client(ctx, &client_id).await {
        Ok(c) => c,
        Err(e) => return response::error_page(ctx.cfg, &e),
    };
    let ar = match request::validate(ctx.cfg, &client, form) {
        Ok(ar) => ar,
        Err(r) => return render(ctx.cfg, r),
    };
    // Later legs re-read the request from this URL; a POSTed request becomes a GET URL here.
    let request_url = format!("{}?{}", ctx.cfg.public("/oauth2/auth"), form.encode());
    if flow::consent_v0_10::applies(ctx, &client.client_id) {
        return flow::consent_v0_10::start(ctx, &client, &ar, request_url).await;
    }
    flow::login::start(ctx, req, &client, &ar, request_url, None).await
}

/// The client of a flow, through the KV cache; `invalid_client` when it does not exist.
pub async fn load_client<P: Platform>(ctx: &Ctx<'_, P>, client_id: &str) -> ApiResult<Client> {
    if crate::clients::validate::check_client_id(client_id).is_err() {
        return Err(ApiError::invalid_client().with_hint("The requested OAuth 2.0 Client does not exist."));
    }
    match store::clients::get_cached(ctx.p, ctx.cfg.client_cache_ttl, client_id).await? {
        Some(c) => {
            ctx.log.client(&c.client.client_id);
            Ok(c.client)
        }
        None => Err(ApiError::invalid_client().with_hint("The requested OAuth 2.0 Client does not exist.")),
    }
}

/// Re-read and re-validate a flow's authorization request when the browser returns with a
/// verifier: the parameters come from the sealed `request_url`, never from the returning URL,
/// and the client is checked again (it may have been changed or deleted meanwhile).
pub async fn reload<P: Platform>(
    ctx: &Ctx<'_, P>,
    client_id: &str,
    request_url: &str,
    returning: &Form,
) -> Result<(Client, AuthorizeRequest), Response> {
    if let Ok(Some(id)) = returning.get("client_id") {
        if id != client_id {
            return Err(response::error_page(
                ctx.cfg,
                &ApiError::invalid_client()
                    .with_hint("The client_id of the request does not match the client_id of the flow."),
            ));
        }
    }
    let client = load_client(ctx, client_id).await.map_err(|e| response::error_page(ctx.cfg, &e))?;
    let query = request_url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let form = Form::parse(query.as_bytes()).unwrap_or_default();
    let ar = request::validate(ctx.cfg, &client, &form).map_err(|r| render(ctx.cfg, r))?;
    Ok((client, ar))
}

/// The display parts of a request URL, without validation (admin views).
pub fn parse_loose(request_url: &str) -> AuthorizeRequest {
    let query = request_url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let form = Form::parse(query.as_bytes()).unwrap_or_default();
    let one = |n: &str| form.get(n).ok().flatten().unwrap_or("").to_string();
    let split = |s: String| s.split(' ').filter(|x| !x.is_empty()).map(str::to_string).collect::<Vec<_>>();
    AuthorizeRequest {
        client_id: one("client_id"),
        response_types: split(one("response_type")),
        redirect_uri: one("redirect_uri"),
        redirect_uri_given: false,
        response_mode: response::ResponseMode::Query,
        state: one("state"),
        nonce: one("nonce"),
        scopes: split(one("scope")),
        audience: form.get_all("audience").into_iter().flat_map(|a| split(a.to_string())).collect(),
        code_challenge: one("code_challenge"),
        prompt: split(one("prompt")),
        max_age: None,
        acr_values: split(one("acr_values")),
        ui_locales: split(one("ui_locales")),
        display: one("display"),
        login_hint: one("login_hint"),
        id_token_hint: String::new(),
    }
}

/// End of the flow: redeem the consent verifier once (with the consent session, code and
/// implicit tokens in the same transaction) and answer the client.
pub async fn complete<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    ar: &AuthorizeRequest,
    v: &ConsentVerifier,
    claim: &Claim,
    marker_expiry: i64,
) -> ApiResult<Response> {
    let c = &v.consent;
    let now = ctx.p.now();
    let grant = flow::consent::grant_of(ctx.cfg, v, client, &ar.nonce, !ar.acr_values.is_empty(), &ar.scopes)?;
    let mut params: Vec<(String, String)> = Vec::new();
    let mut writes = Vec::new();
    let mut code_token = None;
    if ar.has_response_type("code") {
        let code = opaque::generate_in(ctx.cfg.primary_secret(), TokenKind::AuthorizeCode, grant.shard());
        let data = CodeData {
            grant: grant.clone(),
            redirect_uri: ar.redirect_uri.clone(),
            redirect_uri_given: ar.redirect_uri_given,
            code_challenge: ar.code_challenge.clone(),
        };
        writes.push(insert_code_after_marker(
            &CodeRow {
                signature: code.signature,
                request_id: grant.request_id.clone(),
                client_id: client.client_id.clone(),
                data: serde_json::to_string(&data).expect("json"),
                expires_at: now + ctx.cfg.ttl.auth_code,
                used_at: None,
            },
            claim,
        ));
        params.push(("code".into(), code.token.clone()));
        code_token = Some(code.token);
    }
    let lt = lifetimes(ctx.cfg, client, GrantKind::Implicit);
    let mut access_token = None;
    if ar.has_response_type("token") {
        let at = issue::access_token(ctx, client, &grant, lt.access).await?;
        writes.push(insert_token_after_marker(&at.row, claim));
        params.push(("access_token".into(), at.token.clone()));
        params.push(("token_type".into(), "bearer".into()));
        params.push(("expires_in".into(), lt.access.to_string()));
        access_token = Some(at.token);
    }
    // An ID token only when `openid` was granted (fosite's hybrid and implicit handlers): a
    // consent that withheld it must not hand out the subject and its claims here.
    if ar.has_response_type("id_token") && grant.has_scope("openid") {
        let id_token =
            issue::id_token(ctx, client, &grant, lt.id, access_token.as_deref(), code_token.as_deref()).await?;
        params.push(("id_token".into(), id_token));
    }
    if !ar.state.is_empty() {
        params.push(("state".into(), ar.state.clone()));
    }
    params.push(("scope".into(), grant.scopes.join(" ")));
    params.push(("iss".into(), ctx.cfg.issuer.clone()));

    let consent = flow::consent::session_row(v, &client.client_id, &ar.scopes, &ar.audience);
    let redeemed =
        store::flows::redeem_consent(ctx.p, claim, &c.login.request_url, now, marker_expiry, &consent, writes).await?;
    if !redeemed {
        return Err(ApiError::access_denied().with_hint("The consent verifier has already been used."));
    }
    ctx.log.flow_completed("consent");
    if access_token.is_some() || ar.has_response_type("id_token") {
        ctx.log.implicit_tokens();
    }
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Ok(response::deliver(&ar.target(), &pairs))
}
