//! `/oauth2/auth`: malformed, duplicated and oversized parameters, open-redirect tricks,
//! forged and cross-purpose verifiers, JOSE attacks through `id_token_hint`.

use serde_json::json;

use super::common::jose::{b64json, hs256, unsigned, EcKey};
use super::common::oauth::REDIRECT;
use super::{enc, Case, Expect, Fixture};
use Expect::*;

pub fn cases(fx: &Fixture) -> Vec<Case> {
    let q = |skip: &[&str], extra: &str| format!("/oauth2/auth?{}&{extra}", fx.auth_query_without(skip));
    let mut v = vec![
        Case::get("no parameters", "/oauth2/auth").expect(ErrorPage("invalid_request")),
        Case::get("no client_id", q(&["client_id"], "")).expect(ErrorPage("invalid_request")),
        Case::get("unknown client", q(&["client_id"], "client_id=no-such-client")).expect(ErrorPage("invalid_client")),
        Case::get("client_id twice", q(&[], &format!("client_id={}", fx.rp.id))).expect(ErrorPage("invalid_request")),
        Case::get("client_id not UTF-8", q(&["client_id"], "client_id=%FF%FE")).expect(ErrorPage("invalid_request")),
        Case::get("client_id with NUL", q(&["client_id"], &format!("client_id={}%00", fx.rp.id)))
            .expect(ErrorPage("invalid_request")),
        Case::get("client_id with CRLF", q(&["client_id"], &format!("client_id={}%0D%0ASet-Cookie:x=1", fx.rp.id)))
            .expect(ErrorPage("invalid_request")),
        Case::get("malformed escape", q(&[], "x=%ZZ")).expect(ErrorPage("invalid_request")),
        Case::get("truncated escape", q(&[], "x=%4")).expect(ErrorPage("invalid_request")),
        Case::get("client_id of 300 characters", q(&["client_id"], &format!("client_id={}", "c".repeat(300))))
            .expect(ErrorPage("invalid_client")),
        Case::get("path traversal in client_id", q(&["client_id"], "client_id=..%2F..%2Fadmin"))
            .expect(ErrorPage("invalid_client")),
        Case::post("JSON body", "/oauth2/auth").json("{\"client_id\": \"x\"}").expect(ErrorPage("invalid_request")),
        Case::post("form body with a malformed escape", "/oauth2/auth")
            .form(&format!("{}&state=%G0", fx.auth_query_without(&["state"])))
            .expect(ErrorPage("invalid_request")),
        Case::post("parameter both in query and body", format!("/oauth2/auth?client_id={}", fx.rp.id))
            .form(&fx.auth_query_without(&[]))
            .expect(ErrorPage("invalid_request")),
        Case::get("state longer than 4096", q(&["state"], &format!("state={}", "s".repeat(5000))))
            .expect(ErrorPage("invalid_request")),
        Case::get("both verifiers", q(&[], "login_verifier=a&consent_verifier=b")).expect(ErrorPage("invalid_request")),
        Case::get("forged login verifier", "/oauth2/auth?login_verifier=forged-verifier")
            .expect(ErrorPage("access_denied")),
        Case::get("forged consent verifier", "/oauth2/auth?consent_verifier=AAAA").expect(ErrorPage("access_denied")),
        Case::get(
            "login challenge used as login verifier",
            format!("/oauth2/auth?login_verifier={}", fx.login_challenge),
        )
        .expect(ErrorPage("access_denied")),
        Case::get(
            "consent challenge used as consent verifier",
            format!("/oauth2/auth?consent_verifier={}", fx.consent_challenge),
        )
        .expect(ErrorPage("access_denied")),
        Case::get(
            "login verifier used as consent verifier",
            format!("/oauth2/auth?consent_verifier={}", fx.used_login_verifier),
        )
        .expect(ErrorPage("access_denied")),
        Case::get(
            "consent verifier used as login verifier",
            format!("/oauth2/auth?login_verifier={}", fx.used_consent_verifier),
        )
        .expect(ErrorPage("access_denied")),
        Case::get(
            "replayed login verifier from another browser",
            format!("/oauth2/auth?login_verifier={}", fx.used_login_verifier),
        )
        .expect(Client("request_forbidden")),
        Case::get(
            "replayed consent verifier from another browser",
            format!("/oauth2/auth?consent_verifier={}", fx.used_consent_verifier),
        )
        .expect(Client("request_forbidden")),
        Case::get("tampered login verifier", format!("/oauth2/auth?login_verifier={}x", fx.used_login_verifier))
            .expect(ErrorPage("access_denied")),
        Case::get(
            "verifier with the wrong client_id",
            format!("/oauth2/auth?login_verifier={}&client_id={}", fx.used_login_verifier, fx.post.id),
        )
        .expect(ErrorPage("invalid_client")),
    ];

    // Open-redirect tricks: none of these may send the browser anywhere but the error page.
    for (name, uri) in [
        ("redirect to another host", "https://evil.example/callback"),
        ("redirect with userinfo", "https://rp.example@evil.example/callback"),
        ("redirect host suffix", "https://rp.example.evil.example/callback"),
        ("redirect with trailing path", "https://rp.example/callback/../../evil"),
        ("redirect with extra query", "https://rp.example/callback?next=https://evil.example"),
        ("redirect with fragment", "https://rp.example/callback#https://evil.example"),
        ("redirect upper-case host", "https://RP.example/callback"),
        ("redirect scheme downgrade", "http://rp.example/callback"),
        ("redirect protocol-relative", "//evil.example/callback"),
        ("redirect single slash", "https:/rp.example/callback"),
        ("redirect encoded slash in host", "https://rp.example%2F@evil.example/callback"),
        ("redirect javascript", "javascript:alert(document.cookie)"),
        ("redirect data", "data:text/html,<script>alert(1)</script>"),
        ("redirect trailing dot host", "https://rp.example./callback"),
        ("redirect default port", "https://rp.example:443/callback"),
        ("redirect backslash", "https://rp.example\\@evil.example/callback"),
        ("redirect percent-encoded path", "https://rp.example/%63allback"),
        ("redirect loopback with userinfo", "http://127.0.0.1:7000@evil.example/cb"),
        ("redirect loopback v6 with userinfo", "http://[::1]:1@evil.example/cb"),
        ("redirect loopback other path", "http://127.0.0.1:7001/other"),
        ("redirect localhost for loopback", "http://localhost:7000/cb"),
    ] {
        v.push(
            Case::get(name, q(&["redirect_uri"], &format!("redirect_uri={}&prompt=none", enc(uri))))
                .expect(ErrorPage("invalid_request")),
        );
    }
    v.push(
        Case::get(
            "redirect with CRLF",
            q(
                &["redirect_uri"],
                "redirect_uri=https%3A%2F%2Frp.example%2Fcallback%0D%0ALocation:%20https://evil.example",
            ),
        )
        .expect(ErrorPage("invalid_request")),
    );
    v.push(
        Case::get("redirect_uri twice", q(&[], &format!("redirect_uri={}", enc(REDIRECT))))
            .expect(ErrorPage("invalid_request")),
    );
    v.push(
        Case::get("no redirect_uri for OpenID Connect", q(&["redirect_uri"], "")).expect(ErrorPage("invalid_request")),
    );

    // Errors that go to the (verified) client.
    v.extend([
        Case::get("no response_type", q(&["response_type"], "")).expect(Client("unsupported_response_type")),
        Case::get("unknown response_type", q(&["response_type"], "response_type=code+magic"))
            .expect(Client("unsupported_response_type")),
        Case::get("response_type twice", q(&[], "response_type=token")).expect(ErrorPage("invalid_request")),
        Case::get("unknown response_mode", q(&[], "response_mode=jsonp")).expect(Client("unsupported_response_mode")),
        Case::get("tokens in a query", q(&["response_type"], "response_type=token&response_mode=query"))
            .expect(Client("unsupported_response_mode")),
        Case::get("scope not allowed", q(&["scope"], "scope=openid+admin")).expect(Client("invalid_scope")),
        Case::get("scope with a quote", q(&["scope"], "scope=openid+photos.%22x")).expect(Client("invalid_scope")),
        Case::get("scope with a backslash", q(&["scope"], "scope=openid+photos.%5Cx")).expect(Client("invalid_scope")),
        Case::get("scope non-ASCII under a wildcard", q(&["scope"], "scope=openid+photos.%C3%A9"))
            .expect(Client("invalid_scope")),
        Case::get("scope with NUL", q(&["scope"], "scope=openid+photos.%00")).expect(ErrorPage("invalid_request")),
        Case::get("scope with a tab", q(&["scope"], "scope=openid%09photos.read")).expect(ErrorPage("invalid_request")),
        Case::get("audience not allowed", q(&[], "audience=https%3A%2F%2Fevil.example"))
            .expect(Client("invalid_request")),
        Case::get("short state", q(&["state"], "state=short")).expect(Client("invalid_state")),
        Case::get("no state", q(&["state"], "")).expect(Client("invalid_state")),
        Case::get("state with CRLF", q(&["state"], "state=abcdefgh%0D%0AX-Injected:1"))
            .expect(ErrorPage("invalid_request")),
        Case::get("short nonce", q(&["nonce"], "nonce=short")).expect(Client("insufficient_entropy")),
        Case::get("nonce twice", q(&[], "nonce=another-nonce-0123")).expect(ErrorPage("invalid_request")),
        Case::get("PKCE plain", q(&["code_challenge_method"], "code_challenge_method=plain"))
            .expect(Client("invalid_request")),
        Case::get("PKCE unknown method", q(&["code_challenge_method"], "code_challenge_method=S512"))
            .expect(Client("invalid_request")),
        Case::get("PKCE short challenge", q(&["code_challenge"], "code_challenge=abc"))
            .expect(Client("invalid_request")),
        Case::get(
            "PKCE challenge with bad characters",
            q(&["code_challenge"], &format!("code_challenge={}", enc(&"!".repeat(43)))),
        )
        .expect(Client("invalid_request")),
        Case::get("unknown prompt", q(&[], "prompt=steal")).expect(Client("invalid_request")),
        Case::get("prompt none with login", q(&[], "prompt=none+login")).expect(Client("invalid_request")),
        Case::get("prompt none without a session", q(&[], "prompt=none")).expect(Client("login_required")),
        Case::get("negative max_age", q(&[], "max_age=-1")).expect(Client("invalid_request")),
        Case::get("max_age not a number", q(&[], "max_age=1e3")).expect(Client("invalid_request")),
        Case::get("max_age overflowing", q(&[], "max_age=99999999999999999999")).expect(Client("invalid_request")),
        Case::get("claims not JSON", q(&[], "claims=%7Bnot-json")).expect(Client("invalid_request")),
        Case::get("claims an array", q(&[], "claims=%5B%5D")).expect(Client("invalid_request")),
        Case::get("claims nested 500 deep", q(&[], &format!("claims={}{}", "%5B".repeat(500), "%5D".repeat(500))))
            .expect(Client("invalid_request")),
        Case::get("request object", q(&[], "request=eyJhbGciOiJub25lIn0.e30.")).expect(Client("request_not_supported")),
        Case::get("request_uri", q(&[], "request_uri=https%3A%2F%2Fevil.example%2Fr"))
            .expect(Client("request_uri_not_supported")),
        Case::get("registration parameter", q(&[], "registration=%7B%7D")).expect(Client("registration_not_supported")),
        Case::get(
            "id_token response without openid",
            q(&["response_type", "scope"], "response_type=id_token&scope=offline_access"),
        )
        .expect(Client("invalid_request")),
    ]);

    // id_token_hint: JOSE attacks.
    let real = &fx.id_token;
    let parts: Vec<&str> = real.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&base64_decode(parts[1])).unwrap_or_else(|_| json!({"sub": "x"}));
    claims["sub"] = json!("someone-else");
    let header: serde_json::Value = serde_json::from_slice(&base64_decode(parts[0])).unwrap();
    let forged_sub = format!("{}.{}.{}", parts[0], b64json(&claims), parts[2]);
    let alg_none = unsigned(&claims);
    let hs = hs256(&json!({"alg": "HS256", "kid": header["kid"]}), &claims, b"public key bytes");
    let foreign = EcKey::new(77, header["kid"].as_str().unwrap_or("k"))
        .sign(&json!({"alg": "ES256", "kid": header["kid"]}), &claims);
    for (name, hint) in [
        ("id_token_hint with a changed subject", forged_sub),
        ("id_token_hint alg none", alg_none),
        ("id_token_hint HS256 confusion", hs),
        ("id_token_hint signed by a foreign key", foreign),
        ("id_token_hint garbage", "not.a.jwt".to_string()),
        ("id_token_hint JWE shaped", "a.b.c.d.e".to_string()),
        ("id_token_hint without signature", format!("{}.{}.", parts[0], parts[1])),
        (
            "id_token_hint zero signature",
            format!("{}.{}.{}", parts[0], parts[1], super::common::jose::b64url(&[0u8; 64])),
        ),
    ] {
        v.push(Case::get(name, q(&[], &format!("id_token_hint={}", enc(&hint)))).expect(Client("invalid_request")));
    }
    v
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap_or_default()
}
