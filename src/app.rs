//! Request dispatch: route, authenticate admin calls, call the handler, render its error, and
//! apply CORS by path (so routes added later under a CORS path get it too).

use std::future::Future;
use std::pin::Pin;

use crate::config::{is_loopback_host, Config, ConfigError, MIN_ADMIN_TOKEN_DISTINCT, MIN_ADMIN_TOKEN_LEN};
use crate::crypto::{ct_eq, sha256};
use crate::ctx::{parse_json, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::http::{Method, Request, Response, MAX_BODY_BYTES};
use crate::log::{route_name, RequestLog};
use crate::platform::Platform;
use crate::ratelimit::{self, Limiter};
use crate::router::{self, Gen, Route, RouteError};
use crate::{
    authorize, clients, compat, cors, device, discovery, fallbacks, flow, flush, health, introspect, keys, metrics,
    revoke, token, trust, userinfo,
};

/// Is this the admin token? Compared as SHA-256 digests so the comparison is constant-time
/// whatever the lengths. Wrong tokens are rate limited per address: an address that failed too
/// often gets 429 for a while for every wrong token. The right token always passes: addresses
/// are shared (NAT, a serverless login app's egress), and a stranger behind the same one must
/// not lock the login app out; guessing a token of 32 characters or more is hopeless anyway.
async fn admin_authorized<P: Platform>(p: &P, cfg: &Config, req: &Request) -> ApiResult<()> {
    if cfg.admin_token_too_short {
        return Err(ApiError::unauthorized(format!(
            "The admin API is closed: the ADMIN_API_TOKEN secret is shorter than {MIN_ADMIN_TOKEN_LEN} characters \
             or has fewer than {MIN_ADMIN_TOKEN_DISTINCT} different ones. \
             Set a longer one, e.g. `openssl rand -base64 32 | npx wrangler secret put ADMIN_API_TOKEN`."
        )));
    }
    let Some(expected) = cfg.admin_token.as_deref() else {
        return Err(ApiError::unauthorized(
            "The admin API is closed: the ADMIN_API_TOKEN secret is not set on this Worker.",
        ));
    };
    let presented = req.bearer_token().unwrap_or("");
    if !presented.is_empty() && ct_eq(&sha256(presented.as_bytes()), &sha256(expected.as_bytes())) {
        return Ok(());
    }
    let ip = ratelimit::client_ip(req).map(|ip| format!("ip:{ip}"));
    if let Some(ip) = ip.as_deref() {
        ratelimit::check(p, &[(Limiter::AdminFailuresPerIp, ip)])?;
    }
    if presented.is_empty() {
        return Err(ApiError::unauthorized(
            "The admin API requires an 'Authorization: Bearer <ADMIN_API_TOKEN>' header.",
        ));
    }
    if let Some(ip) = ip.as_deref() {
        if let Some(refused) = ratelimit::fail(p, &[(Limiter::AdminFailuresPerIp, ip)]).await {
            return Err(refused);
        }
    }
    Err(ApiError::unauthorized("The admin API token is not valid."))
}

/// The host a request was sent to, without the port.
fn request_host(req: &Request) -> &str {
    let host = req.header("host").unwrap_or("");
    if host.starts_with('[') {
        host.split_inclusive(']').next().unwrap_or(host)
    } else {
        host.split(':').next().unwrap_or(host)
    }
}

/// The production guard: a Worker whose issuer is loopback (the committed development default)
/// but that is reached under another host name was deployed without a real issuer. It serves
/// nothing then, so neither the test routes nor any loopback allowance is ever live in public.
fn deployed_with_a_loopback_issuer(cfg: &Config, req: &Request) -> Option<ApiError> {
    let host = request_host(req);
    if !cfg.local_development || host.is_empty() || is_loopback_host(host) {
        return None;
    }
    Some(ApiError::internal("loopback issuer on a public host").with_description(format!(
        "The server is misconfigured: URLS_SELF_ISSUER is the loopback URL {} but this Worker is served at {host}. \
         Set URLS_SELF_ISSUER to this deployment's https URL (see the README, \"Deploying\").",
        cfg.issuer
    )))
}

/// Is this route an OAuth endpoint (errors in `errorOAuth2` form) rather than an admin one?
fn renders_oauth_errors(route: &Route) -> bool {
    matches!(
        route,
        Route::Discovery
            | Route::Jwks
            | Route::Authorize
            | Route::Token
            | Route::Register
            | Route::RegisterItem(_)
            | Route::Revoke
            | Route::Userinfo
            | Route::Introspect
            | Route::Logout
            | Route::DeviceAuth
            | Route::DeviceVerify
    )
}

/// Handle one request. `cfg` is the isolate's parsed configuration (or why it is invalid); `log`
/// collects what the request's log line says.
pub async fn handle<P: Platform>(
    p: &P,
    cfg: Result<&Config, &ConfigError>,
    req: Request,
    body_too_large: bool,
    log: &RequestLog,
) -> Response {
    let routed = router::route(req.method, &req.path);
    // CORS goes by path, whatever answers there: errors too, and routes added later.
    let cors = match cfg {
        Ok(c) if c.cors.enabled => {
            let admin = match &routed {
                Ok(r) => Some(r.admin),
                Err(RouteError::NotFound { admin }) | Err(RouteError::MethodNotAllowed { admin, .. }) => {
                    admin.then_some(true)
                }
            };
            Some((c, cors::scope_of(&req.path, admin))).filter(|(_, scope)| *scope != cors::Scope::None)
        }
        _ => None,
    };
    let Some((c, scope)) = cors else {
        return handle_routed(p, cfg, routed, &req, body_too_large, log).await;
    };
    if cors::is_preflight(&req) {
        return cors::preflight(&c.cors, scope, &req);
    }
    let response = handle_routed(p, cfg, routed, &req, body_too_large, log).await;
    let origin = req.header("origin").unwrap_or("").to_ascii_lowercase();
    let allowed = !origin.is_empty()
        && (cors::globally_allowed(&c.cors, &origin)
            || (scope == cors::Scope::PerClient
                && clients::cors::allows_origin(&Ctx { cfg: c, p, log }, &req, &origin).await));
    cors::decorate(&c.cors, &req, allowed, response)
}

async fn handle_routed<P: Platform>(
    p: &P,
    cfg: Result<&Config, &ConfigError>,
    routed: Result<router::Routed, RouteError>,
    req: &Request,
    body_too_large: bool,
    log: &RequestLog,
) -> Response {
    let expose = cfg.map(|c| c.expose_internal_errors).unwrap_or(false);
    // Under the admin prefix, a wrong path or method is told only to an authenticated caller:
    // a 404 or 405 before the token check would map the admin API for anyone.
    if let (Err(RouteError::NotFound { admin: true } | RouteError::MethodNotAllowed { admin: true, .. }), Ok(c)) =
        (&routed, cfg)
    {
        if let Err(e) = admin_authorized(p, c, req).await {
            return admin_refusal(e, expose);
        }
    }
    let routed = match routed {
        Ok(r) => r,
        Err(RouteError::NotFound { .. }) => {
            return ApiError::not_found()
                .with_description(format!("No route matches {} {}.", req.method.as_str(), req.path))
                .admin_response(expose);
        }
        Err(RouteError::MethodNotAllowed { allowed, admin }) => {
            let e = ApiError::method_not_allowed(&allowed);
            // An endpoint OAuth clients send requests to (the route its allowed method reaches)
            // answers in OAuth's shape, with a registered error code, as clients switch on
            // `error`; the documents and browser pages keep the admin shape.
            let first = Method::parse(allowed.split(", ").next().unwrap_or(""));
            let oauth = !admin
                && router::route(first, &req.path)
                    .map(|r| {
                        matches!(
                            r.route,
                            Route::Token | Route::Revoke | Route::DeviceAuth | Route::Register | Route::RegisterItem(_)
                        )
                    })
                    .unwrap_or(false);
            let response = if oauth { e.as_invalid_request().oauth_response(expose) } else { e.admin_response(expose) };
            return response.with_header("allow", &allowed);
        }
    };
    log.route(route_name(&routed.route), routed.admin);
    // Liveness says nothing about configuration, so it answers even when that is broken.
    if routed.route == Route::HealthAlive && !routed.admin {
        return health::alive();
    }
    let oauth = renders_oauth_errors(&routed.route);
    let render = |e: ApiError| if oauth { e.oauth_response(expose) } else { e.admin_response(expose) };
    let cfg = match cfg {
        Ok(c) => c,
        Err(e) => {
            return render(ApiError::internal(e.to_string()).with_description(format!(
                "The server is misconfigured: {e}. Fix the Worker's vars and secrets (see the README)."
            )))
        }
    };
    if let Some(e) = deployed_with_a_loopback_issuer(cfg, req) {
        return render(e);
    }
    if routed.admin {
        if let Err(e) = admin_authorized(p, cfg, req).await {
            return admin_refusal(e, expose);
        }
    }
    if body_too_large {
        let e = ApiError::payload_too_large(MAX_BODY_BYTES);
        return render(if oauth { e.as_invalid_request() } else { e });
    }
    if routed.route == Route::TestPanic && cfg.test_routes {
        panic!("deliberate panic from the test route");
    }
    let ctx = Ctx { cfg, p, log };
    let result = dispatch_any_generation(&ctx, routed, req).await;
    let mut response = match result {
        Ok(r) => r,
        Err(e) => render(e),
    };
    // Hydra marks every GET response uncacheable unless the handler chose otherwise.
    if matches!(req.method, crate::http::Method::Get | crate::http::Method::Head)
        && response.header("cache-control").is_none()
    {
        response = response.with_header("cache-control", "private, no-cache, no-store, must-revalidate");
    }
    response
}

/// The answer to an admin call that failed authentication (401 names the scheme).
fn admin_refusal(e: ApiError, expose: bool) -> Response {
    let r = e.admin_response(expose);
    if e.status == 401 {
        r.with_header("www-authenticate", "Bearer realm=\"hydra-edge admin\"")
    } else {
        r
    }
}

/// `POST /admin/_test/sql` (test routes only): `{"statements": [...]}` run as one batch; answers
/// the rows of the last statement, or with `"all": true` the rows of every statement.
async fn test_sql<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    #[derive(serde::Deserialize)]
    struct Body {
        statements: Vec<String>,
        #[serde(default)]
        all: bool,
    }
    let body: Body = parse_json(req)?;
    // The platform takes static SQL; leaking is fine for a test-only route.
    let queries =
        body.statements.into_iter().map(|s| crate::platform::Query::new(Box::leak(s.into_boxed_str()))).collect();
    let results = ctx.p.sql_batch(queries).await.map_err(|e| ApiError::bad_request(e.0))?;
    if body.all {
        let every: Vec<_> = results.iter().map(|r| r.rows.clone()).collect();
        return Ok(Response::json(200, &every));
    }
    let last = results.last().map(|r| r.rows.clone()).unwrap_or_default();
    Ok(Response::json(200, &last))
}

/// Adapt a request of an older generation's form, run the one handler of its operation, and
/// bring the answer into that generation's form (requests of the current form pass untouched).
async fn dispatch_any_generation<P: Platform>(
    ctx: &Ctx<'_, P>,
    routed: router::Routed,
    req: &Request,
) -> ApiResult<Response> {
    let adapted = compat::adapt_request(&routed, req)?;
    let req = adapted.request.as_ref().unwrap_or(req);
    let shape = compat::ResponseShape::of(&routed);
    // Older generations answer 409 to changing a used login or consent request.
    let decides = match routed.route {
        Route::LoginAccept | Route::LoginReject => Some("login"),
        Route::ConsentAccept | Route::ConsentReject => Some("consent"),
        _ => None,
    };
    if let Some(what) = decides.filter(|_| routed.gen != Gen::V2) {
        flow::refuse_if_already_used(ctx, req, what).await?;
    }
    let response = dispatch(ctx, routed.route, routed.gen, req).await?;
    Ok(compat::adapt_response(shape, &adapted, req.method, response))
}

/// A route's work behind a pointer of its own. Awaited directly, every handler's state machine
/// was inlined into one poll function of about 200 KB, and V8 compiles a wasm function the first
/// time it runs: each fresh isolate paid ~20 ms for it before its first answer, whatever the
/// route. Boxed, each route's code is compiled when that route is first used.
type Handler<'a> = Pin<Box<dyn Future<Output = ApiResult<Response>> + 'a>>;

fn boxed<'a>(work: impl Future<Output = ApiResult<Response>> + 'a) -> Handler<'a> {
    Box::pin(work)
}

async fn dispatch<P: Platform>(ctx: &Ctx<'_, P>, route: Route, gen: Gen, req: &Request) -> ApiResult<Response> {
    use crate::http::Method::*;
    let handler: Handler<'_> = match (route, req.method) {
        (Route::HealthAlive, _) => boxed(async move { Ok(health::alive()) }),
        (Route::HealthReady, _) => boxed(async move { Ok(health::ready(ctx).await) }),
        (Route::Version, _) => boxed(async move { Ok(health::version()) }),
        (Route::Discovery, _) => boxed(async move { discovery::handle(ctx, req).await }),
        (Route::Jwks, _) => boxed(async move {
            let doc = keys::signing::public_jwks(ctx).await?;
            let cache_control = keys::signing::JWKS_CACHE_CONTROL;
            Ok(crate::http::etag::respond(req, &doc.body, &doc.etag, crate::http::JSON, cache_control))
        }),
        (Route::Fallback(page), _) => boxed(async move { Ok(fallbacks::page(&page, req)) }),
        (Route::TestSql, _) if ctx.cfg.test_routes => boxed(async move { test_sql(ctx, req).await }),
        (Route::Authorize, _) => boxed(async move { Ok(authorize::handle(ctx, req).await) }),
        (Route::Token, _) => boxed(async move { token::handle(ctx, req).await }),
        (Route::LoginRequest, _) => boxed(async move { flow::login::get_request(ctx, req).await }),
        (Route::LoginAccept, _) => boxed(async move { flow::login::accept(ctx, req).await }),
        (Route::LoginReject, _) => boxed(async move { flow::login::reject(ctx, req).await }),
        (Route::ConsentRequest, _) => boxed(async move { flow::consent::get_request(ctx, req).await }),
        (Route::ConsentAccept, _) => boxed(async move { flow::consent::accept(ctx, req).await }),
        (Route::ConsentReject, _) => boxed(async move { flow::consent::reject(ctx, req).await }),
        (Route::Clients, Get) => {
            boxed(async move { clients::admin::list(ctx, req, compat::v1::page(req, gen)?).await })
        }
        (Route::Clients, Post) => boxed(async move { clients::admin::create(ctx, req).await }),
        (Route::Client(id), Get) => boxed(async move { clients::admin::get(ctx, &id).await }),
        (Route::Client(id), Put) => boxed(async move { clients::admin::replace(ctx, &id, req).await }),
        (Route::Client(id), Patch) => boxed(async move { clients::admin::patch(ctx, &id, req).await }),
        (Route::Client(id), Delete) => boxed(async move { clients::admin::delete(ctx, &id).await }),
        (Route::ClientLifespans(id), _) => boxed(async move { clients::admin::set_lifespans(ctx, &id, req).await }),
        (Route::Register, _) => boxed(async move { clients::registration::register(ctx, req).await }),
        (Route::RegisterItem(id), Get) => boxed(async move { clients::registration::read(ctx, &id, req).await }),
        (Route::RegisterItem(id), Put) => boxed(async move { clients::registration::update(ctx, &id, req).await }),
        (Route::RegisterItem(id), Delete) => boxed(async move { clients::registration::delete(ctx, &id, req).await }),
        (Route::KeySet(set), Get) => boxed(async move { keys::admin::get_set(ctx, &set).await }),
        (Route::KeySet(set), Post) => boxed(async move { keys::admin::create(ctx, &set, req).await }),
        (Route::KeySet(set), Put) => boxed(async move { keys::admin::replace_set(ctx, &set, req).await }),
        (Route::KeySet(set), Delete) => boxed(async move { keys::admin::delete_set(ctx, &set).await }),
        (Route::Key(set, kid), Get) => boxed(async move { keys::admin::get_key(ctx, &set, &kid).await }),
        (Route::Key(set, kid), Put) => boxed(async move { keys::admin::put_key(ctx, &set, &kid, req).await }),
        (Route::Key(set, kid), Delete) => boxed(async move { keys::admin::delete_key(ctx, &set, &kid).await }),
        (Route::Revoke, _) => boxed(async move { revoke::handle(ctx, req).await }),
        (Route::Userinfo, _) => boxed(async move { userinfo::handle(ctx, req).await }),
        (Route::Introspect, _) => boxed(async move { introspect::handle(ctx, req).await }),
        (Route::DeleteTokens, _) => boxed(async move { revoke::delete_client_tokens(ctx, req).await }),
        (Route::TrustIssuers, Get) => boxed(async move { trust::list(ctx, req).await }),
        (Route::TrustIssuers, Post) => boxed(async move { trust::create(ctx, req).await }),
        (Route::TrustIssuer(id), Get) => boxed(async move { trust::get(ctx, &id).await }),
        (Route::TrustIssuer(id), Delete) => boxed(async move { trust::delete(ctx, &id).await }),
        (Route::Logout, _) => boxed(async move { Ok(flow::logout::handle(ctx, req).await) }),
        (Route::LogoutRequest, _) => boxed(async move { flow::logout::get_request(ctx, req).await }),
        (Route::LogoutAccept, _) => boxed(async move { flow::logout::accept(ctx, req).await }),
        (Route::LogoutReject, _) => boxed(async move { flow::logout::reject(ctx, req).await }),
        (Route::ConsentSessions, Get) => {
            boxed(async move { flow::sessions::list_consents(ctx, req, compat::v1::page(req, gen)?).await })
        }
        (Route::ConsentSessions, Delete) => boxed(async move { flow::sessions::revoke_consents(ctx, req).await }),
        (Route::LoginSessions, _) => boxed(async move { flow::sessions::revoke_login_sessions(ctx, req).await }),
        (Route::DeviceAuth, _) => boxed(async move { device::auth::handle(ctx, req).await }),
        (Route::DeviceVerify, _) => boxed(async move { device::verify::handle(ctx, req).await }),
        (Route::DeviceAccept, _) => boxed(async move { device::verify::accept(ctx, req).await }),
        (Route::Flush, _) => boxed(async move { flush::handle(ctx, req).await }),
        (Route::Metrics, _) => boxed(async move { metrics::handle(ctx).await }),
        // v1.0-beta logged the browser out here at once; the logout flow asks the logout app first.
        (Route::RevokeLoginCookie, _) => {
            boxed(async move { Ok(Response::redirect(302, &ctx.cfg.public("/oauth2/sessions/logout")).no_store()) })
        }
        (Route::ConsentV010Request(id), _) => boxed(async move { flow::consent_v0_10::get_request(ctx, &id).await }),
        (Route::ConsentV010Accept(id), _) => boxed(async move { flow::consent_v0_10::accept(ctx, req, &id).await }),
        (Route::ConsentV010Reject(id), _) => boxed(async move { flow::consent_v0_10::reject(ctx, req, &id).await }),
        // The router only lets through the methods listed above.
        _ => boxed(async move { Err(ApiError::not_found()) }),
    };
    handler.await
}
