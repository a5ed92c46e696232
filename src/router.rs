//! The route table: which handler serves a method and path, for every generation of Hydra's API.
//!
//! One table serves all five generations. Each operation has one handler; older generations'
//! path forms are rows that reach the same [`Route`], and the request/response adapters in
//! [`crate::compat`] bridge what differs (challenge in the path, `id` for `client_id`,
//! `limit`/`offset` pagination, v0.10 models). The operations side by side:
//!
//! | operation | v2 / v25+ (`/admin` optional) | v1.x | v1.0-beta | v0.10 |
//! | --- | --- | --- | --- | --- |
//! | clients | `/clients[/{id}]`, page tokens | same path, `limit`/`offset` | as v1.x | as v1.x, `id` and `public` in the body |
//! | login request | `…/requests/login?login_challenge=` | same | `…/requests/login/{challenge}` | – |
//! | accept/reject login | `PUT …/login/accept?login_challenge=` | same | `PUT …/login/{challenge}/accept` | – |
//! | consent request | `…/requests/consent?consent_challenge=` | same | `…/requests/consent/{challenge}` | `GET /oauth2/consent/requests/{id}` |
//! | accept/reject consent | `PUT …/consent/accept?consent_challenge=` | same | `PUT …/consent/{challenge}/accept` | `PATCH /oauth2/consent/requests/{id}/accept` |
//! | consent sessions | `GET\|DELETE …/sessions/consent?subject=` | same, `limit`/`offset` | `GET\|DELETE …/sessions/consent/{user}[/{client}]` | – |
//! | login sessions | `DELETE …/sessions/login?subject=` | same | `DELETE …/sessions/login/{user}` | – |
//! | logout of the browser | `/oauth2/sessions/logout` | same | `GET /oauth2/auth/sessions/login/revoke` | – |
//! | flush expired tokens | – | `POST /oauth2/flush` | same | same |
//! | metrics | – | `GET /metrics/prometheus` | same | – |
//!
//! Admin routes answer under `/admin` (v2) and without it (v1.x and older, as Hydra v25+ still
//! does); the forms only older generations had answer without it only. Every admin route of every
//! generation needs the admin token. `/health/*` is public (and an admin route under `/admin`);
//! `/version` and `/metrics/prometheus` are admin routes, as on Hydra's admin port.
//!
//! Where two generations use the same method and path, the route is the same and what differs
//! is decided by something the request shows (see `docs/compatibility.md`): the body of
//! `POST|PUT /clients[/{id}]` (`id`/`public` is v0.10), the query of the lists (`limit`/`offset`
//! is v1.x, `page_token`/`page_size` v2; both is a 400), and for overlapping paths a literal
//! segment wins over a parameter unless only the parameter's row allows the method
//! (`DELETE /oauth2/auth/sessions/login/revoke` revokes the sessions of the user `revoke`; `GET`
//! there is the v1.0-beta logout).
//!
//! Matching allocates nothing but the decoded path parameters it captures: the path is split
//! into a fixed array of segments and compared row by row, hot public routes first.

use crate::http::Method;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    HealthAlive,
    HealthReady,
    Version,
    Discovery,
    Jwks,
    Authorize,
    Token,
    Register,
    RegisterItem(String),
    Fallback(String),
    Clients,
    Client(String),
    ClientLifespans(String),
    KeySet(String),
    Key(String, String),
    LoginRequest,
    LoginAccept,
    LoginReject,
    ConsentRequest,
    ConsentAccept,
    ConsentReject,
    /// `POST /oauth2/revoke`
    Revoke,
    /// `GET|POST /userinfo`
    Userinfo,
    /// `POST /admin/oauth2/introspect`
    Introspect,
    /// `DELETE /admin/oauth2/tokens`
    DeleteTokens,
    /// `/admin/trust/grants/jwt-bearer/issuers`
    TrustIssuers,
    /// `/admin/trust/grants/jwt-bearer/issuers/{id}`
    TrustIssuer(String),
    /// `GET|POST /oauth2/sessions/logout`
    Logout,
    LogoutRequest,
    LogoutAccept,
    LogoutReject,
    /// `GET|DELETE /admin/oauth2/auth/sessions/consent`
    ConsentSessions,
    /// `DELETE /admin/oauth2/auth/sessions/login`
    LoginSessions,
    /// `POST /oauth2/device/auth`
    DeviceAuth,
    /// `GET /oauth2/device/verify`
    DeviceVerify,
    /// `PUT /admin/oauth2/auth/requests/device/accept`
    DeviceAccept,
    /// `POST /oauth2/flush` (v0.11 to v1.x): delete expired tokens, codes and markers.
    Flush,
    /// `GET /metrics/prometheus` (v1.x)
    Metrics,
    /// `GET /oauth2/auth/sessions/login/revoke` (v1.0-beta): logs the browser out.
    RevokeLoginCookie,
    /// `GET /oauth2/consent/requests/{id}` (v0.10)
    ConsentV010Request(String),
    /// `PATCH /oauth2/consent/requests/{id}/accept` (v0.10)
    ConsentV010Accept(String),
    /// `PATCH /oauth2/consent/requests/{id}/reject` (v0.10)
    ConsentV010Reject(String),
    /// Only with `HYDRA_EDGE_TEST_ROUTES`: a handler that panics, to test panic handling.
    TestPanic,
    /// Only with `HYDRA_EDGE_TEST_ROUTES`: run SQL through the Worker's own D1 binding, so tests
    /// can check stored state without opening the database file beside the running server.
    TestSql,
}

/// The generation of Hydra's API whose form a request used: which adapters apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gen {
    /// v2.x, v25+ and v26: `/admin/...`, page tokens.
    V2,
    /// v1.x: admin routes without the prefix, challenges in the query, `limit`/`offset`.
    V1,
    /// v1.0 beta: challenges and subjects in the path.
    V1Beta,
    /// v0.10 / v0.11: consent requests by id, clients with `id` and `public`.
    V010,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    pub route: Route,
    /// Served by the admin API: requires the admin token and renders admin errors.
    pub admin: bool,
    pub gen: Gen,
    /// Path parameters of older forms that newer ones carry in the query (v1.0-beta challenges,
    /// users and clients), in path order; [`crate::compat`] moves them where the handler looks.
    pub params: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    NotFound { admin: bool },
    MethodNotAllowed { admin: bool, allowed: String },
}

/// Who may call a row, and under which prefixes it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Public, without the prefix only.
    Public,
    /// Admin, with and without `/admin` (v2 with it, the row's generation without).
    Admin,
    /// Admin, without the prefix only: forms only older generations had.
    Legacy,
    /// Public without the prefix, admin with it (`/health/*`).
    Health,
    /// Admin, with the prefix only (test routes).
    Test,
}

/// One row: methods, path pattern (`{name}` captures a segment), access, the generation of the
/// form without the prefix, and how the route is built from the captured segments (whatever the
/// builder leaves in the vector becomes [`Routed::params`]).
struct Def {
    methods: &'static [Method],
    path: &'static str,
    access: Access,
    gen: Gen,
    build: fn(&mut Vec<String>) -> Route,
}

const fn row(
    methods: &'static [Method],
    path: &'static str,
    access: Access,
    gen: Gen,
    build: fn(&mut Vec<String>) -> Route,
) -> Def {
    Def { methods, path, access, gen, build }
}

/// Take the next captured segment.
fn take(p: &mut Vec<String>) -> String {
    if p.is_empty() {
        String::new()
    } else {
        p.remove(0)
    }
}

use Access::*;
use Gen::*;
use Method::{Delete, Get, Patch, Post, Put};

/// The table. Rows of one operation sit together, newest form first; overlapping paths list
/// the literal row before the parameter row.
#[rustfmt::skip]
static ROUTES: &[Def] = &[
    // Hot public routes first.
    row(&[Post],             "/oauth2/token",                                   Public, V2,     |_| Route::Token),
    row(&[Get, Post],        "/oauth2/auth",                                    Public, V2,     |_| Route::Authorize),
    row(&[Get, Post],        "/userinfo",                                       Public, V2,     |_| Route::Userinfo),
    row(&[Get],              "/.well-known/jwks.json",                          Public, V2,     |_| Route::Jwks),
    row(&[Get],              "/.well-known/openid-configuration",               Public, V2,     |_| Route::Discovery),
    row(&[Get],              "/.well-known/oauth-authorization-server",         Public, V2,     |_| Route::Discovery),
    row(&[Post],             "/oauth2/revoke",                                  Public, V2,     |_| Route::Revoke),
    row(&[Get],              "/health/alive",                                   Health, V1,     |_| Route::HealthAlive),
    row(&[Get],              "/health/ready",                                   Health, V1,     |_| Route::HealthReady),
    row(&[Get, Post],        "/oauth2/sessions/logout",                         Public, V2,     |_| Route::Logout),
    row(&[Post],             "/oauth2/device/auth",                             Public, V2,     |_| Route::DeviceAuth),
    row(&[Get],              "/oauth2/device/verify",                           Public, V2,     |_| Route::DeviceVerify),
    row(&[Post],             "/oauth2/register",                                Public, V2,     |_| Route::Register),
    row(&[Get, Put, Delete], "/oauth2/register/{id}",                           Public, V2,     |p| Route::RegisterItem(take(p))),
    row(&[Get],              "/oauth2/fallbacks/login",                         Public, V2,     |_| Route::Fallback("login".into())),
    row(&[Get],              "/oauth2/fallbacks/consent",                       Public, V2,     |_| Route::Fallback("consent".into())),
    row(&[Get],              "/oauth2/fallbacks/logout",                        Public, V2,     |_| Route::Fallback("logout".into())),
    row(&[Get],              "/oauth2/fallbacks/logout/callback",               Public, V2,     |_| Route::Fallback("logout/callback".into())),
    row(&[Get],              "/oauth2/fallbacks/device",                        Public, V2,     |_| Route::Fallback("device".into())),
    row(&[Get],              "/oauth2/fallbacks/device/done",                   Public, V2,     |_| Route::Fallback("device/done".into())),
    row(&[Get],              "/oauth2/fallbacks/error",                         Public, V2,     |_| Route::Fallback("error".into())),
    // Metadata.
    row(&[Get],              "/version",                                        Admin,  V1,     |_| Route::Version),
    row(&[Get],              "/metrics/prometheus",                             Admin,  V1,     |_| Route::Metrics),
    // Clients: one path for every generation; the body and query tell them apart (compat).
    row(&[Get, Post],        "/clients",                                        Admin,  V1,     |_| Route::Clients),
    row(&[Get, Put, Patch, Delete], "/clients/{id}",                            Admin,  V1,     |p| Route::Client(take(p))),
    row(&[Put],              "/clients/{id}/lifespans",                         Admin,  V1,     |p| Route::ClientLifespans(take(p))),
    // JSON Web Keys.
    row(&[Get, Post, Put, Delete], "/keys/{set}",                               Admin,  V1,     |p| Route::KeySet(take(p))),
    row(&[Get, Put, Delete], "/keys/{set}/{kid}",                               Admin,  V1,     |p| { let set = take(p); Route::Key(set, take(p)) }),
    // Login requests: challenge in the query (v1, v2) or in the path (v1.0-beta).
    row(&[Get],              "/oauth2/auth/requests/login",                     Admin,  V1,     |_| Route::LoginRequest),
    row(&[Put],              "/oauth2/auth/requests/login/accept",              Admin,  V1,     |_| Route::LoginAccept),
    row(&[Put],              "/oauth2/auth/requests/login/reject",              Admin,  V1,     |_| Route::LoginReject),
    row(&[Get],              "/oauth2/auth/requests/login/{challenge}",         Legacy, V1Beta, |_| Route::LoginRequest),
    row(&[Put],              "/oauth2/auth/requests/login/{challenge}/accept",  Legacy, V1Beta, |_| Route::LoginAccept),
    row(&[Put],              "/oauth2/auth/requests/login/{challenge}/reject",  Legacy, V1Beta, |_| Route::LoginReject),
    // Consent requests: the same three forms, plus v0.10's consent requests by id.
    row(&[Get],              "/oauth2/auth/requests/consent",                   Admin,  V1,     |_| Route::ConsentRequest),
    row(&[Put],              "/oauth2/auth/requests/consent/accept",            Admin,  V1,     |_| Route::ConsentAccept),
    row(&[Put],              "/oauth2/auth/requests/consent/reject",            Admin,  V1,     |_| Route::ConsentReject),
    row(&[Get],              "/oauth2/auth/requests/consent/{challenge}",       Legacy, V1Beta, |_| Route::ConsentRequest),
    row(&[Put],              "/oauth2/auth/requests/consent/{challenge}/accept", Legacy, V1Beta, |_| Route::ConsentAccept),
    row(&[Put],              "/oauth2/auth/requests/consent/{challenge}/reject", Legacy, V1Beta, |_| Route::ConsentReject),
    row(&[Get],              "/oauth2/consent/requests/{id}",                   Legacy, V010,   |p| Route::ConsentV010Request(take(p))),
    row(&[Patch],            "/oauth2/consent/requests/{id}/accept",            Legacy, V010,   |p| Route::ConsentV010Accept(take(p))),
    row(&[Patch],            "/oauth2/consent/requests/{id}/reject",            Legacy, V010,   |p| Route::ConsentV010Reject(take(p))),
    // Logout requests (v1.x, v2) and the device flow (v2).
    row(&[Get],              "/oauth2/auth/requests/logout",                    Admin,  V1,     |_| Route::LogoutRequest),
    row(&[Put],              "/oauth2/auth/requests/logout/accept",             Admin,  V1,     |_| Route::LogoutAccept),
    row(&[Put],              "/oauth2/auth/requests/logout/reject",             Admin,  V1,     |_| Route::LogoutReject),
    row(&[Put],              "/oauth2/auth/requests/device/accept",             Admin,  V2,     |_| Route::DeviceAccept),
    // Sessions: subject and client in the query (v1, v2) or in the path (v1.0-beta).
    row(&[Get, Delete],      "/oauth2/auth/sessions/consent",                   Admin,  V1,     |_| Route::ConsentSessions),
    row(&[Get, Delete],      "/oauth2/auth/sessions/consent/{user}",            Legacy, V1Beta, |_| Route::ConsentSessions),
    row(&[Delete],           "/oauth2/auth/sessions/consent/{user}/{client}",   Legacy, V1Beta, |_| Route::ConsentSessions),
    row(&[Delete],           "/oauth2/auth/sessions/login",                     Admin,  V1,     |_| Route::LoginSessions),
    row(&[Get],              "/oauth2/auth/sessions/login/revoke",              Public, V1Beta, |_| Route::RevokeLoginCookie),
    row(&[Delete],           "/oauth2/auth/sessions/login/{user}",              Legacy, V1Beta, |_| Route::LoginSessions),
    // Tokens.
    row(&[Post],             "/oauth2/introspect",                              Admin,  V1,     |_| Route::Introspect),
    row(&[Delete],           "/oauth2/tokens",                                  Admin,  V1,     |_| Route::DeleteTokens),
    row(&[Post],             "/oauth2/flush",                                   Admin,  V1,     |_| Route::Flush),
    // Trusted jwt-bearer issuers (v1.11+).
    row(&[Get, Post],        "/trust/grants/jwt-bearer/issuers",                Admin,  V1,     |_| Route::TrustIssuers),
    row(&[Get, Delete],      "/trust/grants/jwt-bearer/issuers/{id}",           Admin,  V1,     |p| Route::TrustIssuer(take(p))),
    // Test routes (HYDRA_EDGE_TEST_ROUTES only).
    row(&[Get],              "/_test/panic",                                    Test,   V2,     |_| Route::TestPanic),
    row(&[Post],             "/_test/sql",                                      Test,   V2,     |_| Route::TestSql),
];

/// Paths deeper than this match no row.
const MAX_SEGMENTS: usize = 8;

/// Each row's pattern split into segments (`None` for a capture), once per isolate.
fn patterns() -> &'static [Vec<Option<&'static str>>] {
    static SPLIT: std::sync::OnceLock<Vec<Vec<Option<&'static str>>>> = std::sync::OnceLock::new();
    SPLIT.get_or_init(|| {
        ROUTES.iter().map(|d| d.path.split('/').skip(1).map(|p| (!p.starts_with('{')).then_some(p)).collect()).collect()
    })
}

/// Does a split pattern have the shape of `segs`?
fn shape_matches(pattern: &[Option<&str>], segs: &[&str]) -> bool {
    pattern.len() == segs.len() && pattern.iter().zip(segs).all(|(p, s)| p.is_none_or(|p| p == *s))
}

/// The percent-decoded segments `pattern` captures.
fn capture(pattern: &str, segs: &[&str]) -> Vec<String> {
    pattern
        .split('/')
        .skip(1)
        .zip(segs)
        .filter(|(p, _)| p.starts_with('{'))
        .map(|(_, s)| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect()
}

/// Resolve a request. `HEAD` is routed like `GET`.
pub fn route(method: Method, raw_path: &str) -> Result<Routed, RouteError> {
    let method = if method == Method::Head { Method::Get } else { method };
    let trimmed = raw_path.trim_end_matches('/');
    let path = if trimmed.is_empty() { "/" } else { trimmed };
    let (prefixed, rest) = match path.strip_prefix("/admin") {
        Some(r) if r.starts_with('/') => (true, r),
        _ => (false, path),
    };
    let mut segs = [""; MAX_SEGMENTS];
    let mut count = 0;
    for s in rest.split('/').skip(1) {
        if count == MAX_SEGMENTS {
            return Err(RouteError::NotFound { admin: prefixed });
        }
        segs[count] = s;
        count += 1;
    }
    let segs = &segs[..count];

    // Rows whose path matched but whose methods did not: for the 405.
    let mut allowed: Vec<Method> = Vec::new();
    let mut all_admin = true;
    for (def, pattern) in ROUTES.iter().zip(patterns()) {
        let served = match def.access {
            Public | Legacy => !prefixed,
            Admin | Health => true,
            Test => prefixed,
        };
        if !served || !shape_matches(pattern, segs) {
            continue;
        }
        let admin = match def.access {
            Public => false,
            Health => prefixed,
            Admin | Legacy | Test => true,
        };
        if !def.methods.contains(&method) {
            for m in def.methods {
                if !allowed.contains(m) {
                    allowed.push(*m);
                }
            }
            all_admin &= admin;
            continue;
        }
        let mut params = capture(def.path, segs);
        let route = (def.build)(&mut params);
        let gen = if prefixed { V2 } else { def.gen };
        return Ok(Routed { route, admin, gen, params });
    }
    if allowed.is_empty() {
        return Err(RouteError::NotFound { admin: prefixed });
    }
    let allowed = allowed.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ");
    Err(RouteError::MethodNotAllowed { admin: prefixed || all_admin, allowed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(m: Method, p: &str) -> Routed {
        route(m, p).unwrap_or_else(|e| panic!("{p}: {e:?}"))
    }

    fn is(m: Method, p: &str, route: Route, admin: bool) {
        let r = ok(m, p);
        assert_eq!((r.route, r.admin), (route, admin), "{} {p}", m.as_str());
    }

    #[test]
    fn public_routes() {
        is(Method::Get, "/health/alive", Route::HealthAlive, false);
        is(Method::Get, "/.well-known/jwks.json/", Route::Jwks, false);
        is(Method::Post, "/oauth2/auth", Route::Authorize, false);
        is(Method::Get, "/oauth2/fallbacks/logout/callback", Route::Fallback("logout/callback".into()), false);
        is(Method::Head, "/health/ready", Route::HealthReady, false);
        assert_eq!(route(Method::Get, "/oauth2/fallbacks/other"), Err(RouteError::NotFound { admin: false }));
    }

    #[test]
    fn admin_routes_with_and_without_prefix() {
        is(Method::Get, "/admin/health/alive", Route::HealthAlive, true);
        is(Method::Get, "/admin/clients/abc", Route::Client("abc".into()), true);
        is(Method::Get, "/clients/abc", Route::Client("abc".into()), true);
        is(Method::Get, "/version", Route::Version, true);
        is(Method::Put, "/admin/keys/a%20b/k1", Route::Key("a b".into(), "k1".into()), true);
        is(Method::Get, "/oauth2/auth/requests/login", Route::LoginRequest, true);
        assert_eq!(ok(Method::Get, "/admin/clients").gen, Gen::V2);
        assert_eq!(ok(Method::Get, "/clients").gen, Gen::V1);
    }

    #[test]
    fn token_lifecycle_routes() {
        is(Method::Post, "/oauth2/revoke", Route::Revoke, false);
        is(Method::Get, "/userinfo", Route::Userinfo, false);
        is(Method::Post, "/userinfo", Route::Userinfo, false);
        is(Method::Post, "/admin/oauth2/introspect", Route::Introspect, true);
        is(Method::Post, "/oauth2/introspect", Route::Introspect, true);
        is(Method::Delete, "/admin/oauth2/tokens", Route::DeleteTokens, true);
        is(Method::Post, "/admin/trust/grants/jwt-bearer/issuers", Route::TrustIssuers, true);
        is(Method::Delete, "/admin/trust/grants/jwt-bearer/issuers/abc", Route::TrustIssuer("abc".into()), true);
        assert_eq!(route(Method::Get, "/admin/userinfo"), Err(RouteError::NotFound { admin: true }));
        assert!(matches!(route(Method::Get, "/oauth2/revoke"), Err(RouteError::MethodNotAllowed { .. })));
    }

    #[test]
    fn sessions_logout_and_device_routes() {
        is(Method::Get, "/oauth2/sessions/logout", Route::Logout, false);
        is(Method::Post, "/oauth2/sessions/logout", Route::Logout, false);
        is(Method::Post, "/oauth2/device/auth", Route::DeviceAuth, false);
        is(Method::Get, "/oauth2/device/verify", Route::DeviceVerify, false);
        is(Method::Put, "/admin/oauth2/auth/requests/device/accept", Route::DeviceAccept, true);
        is(Method::Get, "/admin/oauth2/auth/requests/logout", Route::LogoutRequest, true);
        is(Method::Put, "/oauth2/auth/requests/logout/accept", Route::LogoutAccept, true);
        is(Method::Put, "/admin/oauth2/auth/requests/logout/reject", Route::LogoutReject, true);
        is(Method::Delete, "/admin/oauth2/auth/sessions/consent", Route::ConsentSessions, true);
        is(Method::Get, "/oauth2/auth/sessions/consent", Route::ConsentSessions, true);
        is(Method::Delete, "/admin/oauth2/auth/sessions/login", Route::LoginSessions, true);
        assert!(matches!(
            route(Method::Get, "/admin/oauth2/auth/sessions/login"),
            Err(RouteError::MethodNotAllowed { .. })
        ));
        assert_eq!(route(Method::Get, "/admin/oauth2/sessions/logout"), Err(RouteError::NotFound { admin: true }));
        assert_eq!(route(Method::Post, "/admin/oauth2/device/auth"), Err(RouteError::NotFound { admin: true }));
    }

    #[test]
    fn v1_beta_forms_carry_their_path_parameters() {
        let r = ok(Method::Get, "/oauth2/auth/requests/login/abc%2Bdef");
        assert_eq!(
            (r.route, r.admin, r.gen, r.params),
            (Route::LoginRequest, true, Gen::V1Beta, vec!["abc+def".into()])
        );
        let r = ok(Method::Put, "/oauth2/auth/requests/consent/c1/reject");
        assert_eq!((r.route, r.gen, r.params), (Route::ConsentReject, Gen::V1Beta, vec!["c1".into()]));
        let r = ok(Method::Delete, "/oauth2/auth/sessions/consent/alice/app");
        assert_eq!((r.route, r.params), (Route::ConsentSessions, vec!["alice".into(), "app".into()]));
        let r = ok(Method::Delete, "/oauth2/auth/sessions/login/alice");
        assert_eq!((r.route, r.admin, r.params), (Route::LoginSessions, true, vec!["alice".into()]));
        // Only without the prefix: v1.0-beta never had /admin.
        assert_eq!(
            route(Method::Get, "/admin/oauth2/auth/requests/login/abc"),
            Err(RouteError::NotFound { admin: true })
        );
        // The query forms carry nothing in the path.
        assert!(ok(Method::Get, "/oauth2/auth/requests/login").params.is_empty());
    }

    #[test]
    fn overlapping_paths_go_by_method_literal_first() {
        // `accept` is the v1 literal for PUT; a GET there is a v1.0-beta challenge named "accept".
        let r = ok(Method::Put, "/oauth2/auth/requests/login/accept");
        assert_eq!((r.route, r.gen, r.params.len()), (Route::LoginAccept, Gen::V1, 0));
        let r = ok(Method::Get, "/oauth2/auth/requests/login/accept");
        assert_eq!((r.route, r.gen), (Route::LoginRequest, Gen::V1Beta));
        // Under /admin the beta form does not exist: the literal's 405.
        assert_eq!(
            route(Method::Get, "/admin/oauth2/auth/requests/login/accept"),
            Err(RouteError::MethodNotAllowed { admin: true, allowed: "PUT".into() })
        );
        // `revoke`: GET is the public v1.0-beta logout, DELETE the admin revocation of user "revoke".
        is(Method::Get, "/oauth2/auth/sessions/login/revoke", Route::RevokeLoginCookie, false);
        let r = ok(Method::Delete, "/oauth2/auth/sessions/login/revoke");
        assert_eq!((r.route, r.admin, r.params), (Route::LoginSessions, true, vec!["revoke".into()]));
        assert_eq!(
            route(Method::Post, "/oauth2/auth/sessions/login/revoke"),
            Err(RouteError::MethodNotAllowed { admin: false, allowed: "GET, DELETE".into() })
        );
    }

    #[test]
    fn v0_10_and_v1_routes() {
        let r = ok(Method::Get, "/oauth2/consent/requests/abc");
        assert_eq!((r.route, r.admin, r.gen), (Route::ConsentV010Request("abc".into()), true, Gen::V010));
        is(Method::Patch, "/oauth2/consent/requests/abc/accept", Route::ConsentV010Accept("abc".into()), true);
        is(Method::Patch, "/oauth2/consent/requests/abc/reject", Route::ConsentV010Reject("abc".into()), true);
        assert!(matches!(
            route(Method::Put, "/oauth2/consent/requests/abc/accept"),
            Err(RouteError::MethodNotAllowed { .. })
        ));
        is(Method::Post, "/oauth2/flush", Route::Flush, true);
        is(Method::Get, "/metrics/prometheus", Route::Metrics, true);
        is(Method::Get, "/admin/metrics/prometheus", Route::Metrics, true);
    }

    #[test]
    fn errors() {
        assert_eq!(route(Method::Get, "/nope"), Err(RouteError::NotFound { admin: false }));
        assert_eq!(route(Method::Get, "/admin/nope"), Err(RouteError::NotFound { admin: true }));
        assert_eq!(
            route(Method::Delete, "/health/alive"),
            Err(RouteError::MethodNotAllowed { admin: false, allowed: "GET".into() })
        );
        assert_eq!(route(Method::Get, "/admin/.well-known/jwks.json"), Err(RouteError::NotFound { admin: true }));
        assert_eq!(route(Method::Get, "/admin/clients/a/b/c"), Err(RouteError::NotFound { admin: true }));
        assert_eq!(route(Method::Get, "/_test/panic"), Err(RouteError::NotFound { admin: false }));
        assert_eq!(route(Method::Get, "/a/b/c/d/e/f/g/h/i/j"), Err(RouteError::NotFound { admin: false }));
        assert_eq!(route(Method::Get, "/"), Err(RouteError::NotFound { admin: false }));
    }

    #[test]
    fn every_row_is_reachable() {
        // A row hidden behind an earlier row with the same shape and method would never answer.
        for (i, def) in ROUTES.iter().enumerate() {
            let concrete: String = def
                .path
                .split('/')
                .skip(1)
                .map(|s| if s.starts_with('{') { "x-param" } else { s })
                .fold(String::new(), |acc, s| acc + "/" + s);
            let path = if def.access == Test { format!("/admin{concrete}") } else { concrete };
            for m in def.methods {
                let r = route(*m, &path).unwrap_or_else(|e| panic!("row {i} {}: {e:?}", def.path));
                let mut params = capture(
                    def.path,
                    &path.split('/').skip(if def.access == Test { 2 } else { 1 }).collect::<Vec<_>>(),
                );
                assert_eq!(r.route, (def.build)(&mut params), "row {i} {} {} is shadowed", m.as_str(), def.path);
            }
        }
    }
}
