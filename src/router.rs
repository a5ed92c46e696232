//! The route table: which handler serves a method and path.
//!
//! Admin routes live under `/admin`. As Hydra v25+ does, the v1 paths without the prefix
//! (`/clients`, `/keys/{set}`, `/oauth2/auth/requests/...`, `/version`) reach the same admin
//! handlers, so v1 SDKs keep working; they need the admin token like every admin route.

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
    /// Only with `HYDRA_EDGE_TEST_ROUTES`: a handler that panics, to test panic handling.
    TestPanic,
    /// Only with `HYDRA_EDGE_TEST_ROUTES`: run SQL through the Worker's own D1 binding, so tests
    /// can check stored state without opening the database file beside the running server.
    TestSql,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    pub route: Route,
    /// Served by the admin API: requires the admin token and renders admin errors.
    pub admin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    NotFound { admin: bool },
    MethodNotAllowed { admin: bool, allowed: &'static str },
}

const FALLBACKS: &[&str] = &["login", "consent", "logout", "logout/callback", "device", "device/done", "error"];

/// Resolve a request. `HEAD` is routed like `GET`.
pub fn route(method: Method, raw_path: &str) -> Result<Routed, RouteError> {
    let method = if method == Method::Head { Method::Get } else { method };
    let trimmed = raw_path.trim_end_matches('/');
    let path = if trimmed.is_empty() { "/" } else { trimmed };
    let (admin_prefixed, rest) = match path.strip_prefix("/admin") {
        Some(r) if r.starts_with('/') => (true, r),
        _ => (false, path),
    };
    let segments: Vec<String> = rest
        .split('/')
        .skip(1)
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();

    use Method::*;
    // (route, allowed methods, is an admin route)
    let found: Option<(Route, &'static [Method], &'static str, bool)> = match segs.as_slice() {
        ["health", "alive"] => Some((Route::HealthAlive, &[Get], "GET", admin_prefixed)),
        ["health", "ready"] => Some((Route::HealthReady, &[Get], "GET", admin_prefixed)),
        ["version"] => Some((Route::Version, &[Get], "GET", true)),
        [".well-known", "openid-configuration"] | [".well-known", "oauth-authorization-server"] if !admin_prefixed => {
            Some((Route::Discovery, &[Get], "GET", false))
        }
        [".well-known", "jwks.json"] if !admin_prefixed => Some((Route::Jwks, &[Get], "GET", false)),
        ["oauth2", "auth"] if !admin_prefixed => Some((Route::Authorize, &[Get, Post], "GET, POST", false)),
        ["oauth2", "token"] if !admin_prefixed => Some((Route::Token, &[Post], "POST", false)),
        ["oauth2", "revoke"] if !admin_prefixed => Some((Route::Revoke, &[Post], "POST", false)),
        ["userinfo"] if !admin_prefixed => Some((Route::Userinfo, &[Get, Post], "GET, POST", false)),
        ["oauth2", "register"] if !admin_prefixed => Some((Route::Register, &[Post], "POST", false)),
        ["oauth2", "register", id] if !admin_prefixed => {
            Some((Route::RegisterItem(id.to_string()), &[Get, Put, Delete], "GET, PUT, DELETE", false))
        }
        ["oauth2", "fallbacks", rest @ ..] if !admin_prefixed && FALLBACKS.contains(&rest.join("/").as_str()) => {
            Some((Route::Fallback(rest.join("/")), &[Get], "GET", false))
        }
        ["clients"] => Some((Route::Clients, &[Get, Post], "GET, POST", true)),
        ["clients", id] => {
            Some((Route::Client(id.to_string()), &[Get, Put, Patch, Delete], "GET, PUT, PATCH, DELETE", true))
        }
        ["clients", id, "lifespans"] => Some((Route::ClientLifespans(id.to_string()), &[Put], "PUT", true)),
        ["keys", set] => {
            Some((Route::KeySet(set.to_string()), &[Get, Post, Put, Delete], "GET, POST, PUT, DELETE", true))
        }
        ["keys", set, kid] => {
            Some((Route::Key(set.to_string(), kid.to_string()), &[Get, Put, Delete], "GET, PUT, DELETE", true))
        }
        ["oauth2", "auth", "requests", "login"] => Some((Route::LoginRequest, &[Get], "GET", true)),
        ["oauth2", "auth", "requests", "login", "accept"] => Some((Route::LoginAccept, &[Put], "PUT", true)),
        ["oauth2", "auth", "requests", "login", "reject"] => Some((Route::LoginReject, &[Put], "PUT", true)),
        ["oauth2", "auth", "requests", "consent"] => Some((Route::ConsentRequest, &[Get], "GET", true)),
        ["oauth2", "auth", "requests", "consent", "accept"] => Some((Route::ConsentAccept, &[Put], "PUT", true)),
        ["oauth2", "auth", "requests", "consent", "reject"] => Some((Route::ConsentReject, &[Put], "PUT", true)),
        ["oauth2", "introspect"] => Some((Route::Introspect, &[Post], "POST", true)),
        ["oauth2", "sessions", "logout"] if !admin_prefixed => Some((Route::Logout, &[Get, Post], "GET, POST", false)),
        ["oauth2", "device", "auth"] if !admin_prefixed => Some((Route::DeviceAuth, &[Post], "POST", false)),
        ["oauth2", "device", "verify"] if !admin_prefixed => Some((Route::DeviceVerify, &[Get], "GET", false)),
        ["oauth2", "auth", "requests", "logout"] => Some((Route::LogoutRequest, &[Get], "GET", true)),
        ["oauth2", "auth", "requests", "logout", "accept"] => Some((Route::LogoutAccept, &[Put], "PUT", true)),
        ["oauth2", "auth", "requests", "logout", "reject"] => Some((Route::LogoutReject, &[Put], "PUT", true)),
        ["oauth2", "auth", "requests", "device", "accept"] => Some((Route::DeviceAccept, &[Put], "PUT", true)),
        ["oauth2", "auth", "sessions", "consent"] => {
            Some((Route::ConsentSessions, &[Get, Delete], "GET, DELETE", true))
        }
        ["oauth2", "auth", "sessions", "login"] => Some((Route::LoginSessions, &[Delete], "DELETE", true)),
        ["oauth2", "tokens"] => Some((Route::DeleteTokens, &[Delete], "DELETE", true)),
        ["trust", "grants", "jwt-bearer", "issuers"] => Some((Route::TrustIssuers, &[Get, Post], "GET, POST", true)),
        ["trust", "grants", "jwt-bearer", "issuers", id] => {
            Some((Route::TrustIssuer(id.to_string()), &[Get, Delete], "GET, DELETE", true))
        }
        ["_test", "panic"] if admin_prefixed => Some((Route::TestPanic, &[Get], "GET", true)),
        ["_test", "sql"] if admin_prefixed => Some((Route::TestSql, &[Post], "POST", true)),
        _ => None,
    };
    match found {
        None => Err(RouteError::NotFound { admin: admin_prefixed }),
        Some((route, methods, allowed, admin)) => {
            if methods.contains(&method) {
                Ok(Routed { route, admin })
            } else {
                Err(RouteError::MethodNotAllowed { admin, allowed })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(m: Method, p: &str) -> Routed {
        route(m, p).unwrap_or_else(|e| panic!("{p}: {e:?}"))
    }

    #[test]
    fn public_routes() {
        assert_eq!(ok(Method::Get, "/health/alive"), Routed { route: Route::HealthAlive, admin: false });
        assert_eq!(ok(Method::Get, "/.well-known/jwks.json/").route, Route::Jwks);
        assert_eq!(ok(Method::Post, "/oauth2/auth").route, Route::Authorize);
        assert_eq!(
            ok(Method::Get, "/oauth2/fallbacks/logout/callback").route,
            Route::Fallback("logout/callback".into())
        );
        assert_eq!(ok(Method::Head, "/health/ready").route, Route::HealthReady);
    }

    #[test]
    fn admin_routes_with_and_without_prefix() {
        assert_eq!(ok(Method::Get, "/admin/health/alive"), Routed { route: Route::HealthAlive, admin: true });
        assert_eq!(ok(Method::Get, "/admin/clients/abc"), Routed { route: Route::Client("abc".into()), admin: true });
        assert_eq!(ok(Method::Get, "/clients/abc"), Routed { route: Route::Client("abc".into()), admin: true });
        assert_eq!(ok(Method::Get, "/version"), Routed { route: Route::Version, admin: true });
        assert_eq!(ok(Method::Put, "/admin/keys/a%20b/k1").route, Route::Key("a b".into(), "k1".into()));
        assert_eq!(ok(Method::Get, "/oauth2/auth/requests/login").route, Route::LoginRequest);
    }

    #[test]
    fn token_lifecycle_routes() {
        assert_eq!(ok(Method::Post, "/oauth2/revoke"), Routed { route: Route::Revoke, admin: false });
        assert_eq!(ok(Method::Get, "/userinfo"), Routed { route: Route::Userinfo, admin: false });
        assert_eq!(ok(Method::Post, "/userinfo").route, Route::Userinfo);
        assert_eq!(ok(Method::Post, "/admin/oauth2/introspect"), Routed { route: Route::Introspect, admin: true });
        assert_eq!(ok(Method::Post, "/oauth2/introspect"), Routed { route: Route::Introspect, admin: true });
        assert_eq!(ok(Method::Delete, "/admin/oauth2/tokens").route, Route::DeleteTokens);
        assert_eq!(ok(Method::Post, "/admin/trust/grants/jwt-bearer/issuers").route, Route::TrustIssuers);
        assert_eq!(
            ok(Method::Delete, "/admin/trust/grants/jwt-bearer/issuers/abc").route,
            Route::TrustIssuer("abc".into())
        );
        assert_eq!(route(Method::Get, "/admin/userinfo"), Err(RouteError::NotFound { admin: true }));
        assert!(matches!(route(Method::Get, "/oauth2/revoke"), Err(RouteError::MethodNotAllowed { .. })));
    }

    #[test]
    fn sessions_logout_and_device_routes() {
        assert_eq!(ok(Method::Get, "/oauth2/sessions/logout"), Routed { route: Route::Logout, admin: false });
        assert_eq!(ok(Method::Post, "/oauth2/sessions/logout").route, Route::Logout);
        assert_eq!(ok(Method::Post, "/oauth2/device/auth"), Routed { route: Route::DeviceAuth, admin: false });
        assert_eq!(ok(Method::Get, "/oauth2/device/verify"), Routed { route: Route::DeviceVerify, admin: false });
        assert_eq!(
            ok(Method::Put, "/admin/oauth2/auth/requests/device/accept"),
            Routed { route: Route::DeviceAccept, admin: true }
        );
        assert_eq!(ok(Method::Get, "/admin/oauth2/auth/requests/logout").route, Route::LogoutRequest);
        assert_eq!(ok(Method::Put, "/oauth2/auth/requests/logout/accept").route, Route::LogoutAccept);
        assert_eq!(ok(Method::Put, "/admin/oauth2/auth/requests/logout/reject").route, Route::LogoutReject);
        assert_eq!(
            ok(Method::Delete, "/admin/oauth2/auth/sessions/consent"),
            Routed { route: Route::ConsentSessions, admin: true }
        );
        assert_eq!(
            ok(Method::Get, "/oauth2/auth/sessions/consent"),
            Routed { route: Route::ConsentSessions, admin: true }
        );
        assert_eq!(ok(Method::Delete, "/admin/oauth2/auth/sessions/login").route, Route::LoginSessions);
        assert!(matches!(
            route(Method::Get, "/admin/oauth2/auth/sessions/login"),
            Err(RouteError::MethodNotAllowed { .. })
        ));
        assert_eq!(route(Method::Get, "/admin/oauth2/sessions/logout"), Err(RouteError::NotFound { admin: true }));
        assert_eq!(route(Method::Post, "/admin/oauth2/device/auth"), Err(RouteError::NotFound { admin: true }));
    }

    #[test]
    fn errors() {
        assert_eq!(route(Method::Get, "/nope"), Err(RouteError::NotFound { admin: false }));
        assert_eq!(route(Method::Get, "/admin/nope"), Err(RouteError::NotFound { admin: true }));
        assert_eq!(
            route(Method::Delete, "/health/alive"),
            Err(RouteError::MethodNotAllowed { admin: false, allowed: "GET" })
        );
        assert_eq!(route(Method::Get, "/admin/.well-known/jwks.json"), Err(RouteError::NotFound { admin: true }));
        assert_eq!(route(Method::Get, "/admin/clients/a/b/c"), Err(RouteError::NotFound { admin: true }));
        assert_eq!(route(Method::Get, "/_test/panic"), Err(RouteError::NotFound { admin: false }));
    }
}
