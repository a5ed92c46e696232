//! `POST /admin/oauth2/introspect` end to end: Hydra's `introspectedOAuth2Token` for opaque and
//! JWT access tokens and refresh tokens; `{"active": false}` for anything unknown, expired,
//! revoked, malformed or of another purpose (an ID token, `alg: none`, HS256 keyed with the
//! public key); the `scope` parameter; the code-replay revocation made visible.

mod common;

use common::oauth::*;
use common::tokens::*;
use common::{json_of, shared};
use reqwest::Method;
use serde_json::json;

#[test]
fn every_token_kind_introspects_as_hydra_does() {
    let s = shared();
    let opaque_rp = Rp::register(s, json!({}));
    let jwt_rp = Rp::register(s, json!({"access_token_strategy": "jwt"}));
    for rp in [&opaque_rp, &jwt_rp] {
        let t = tokens_via_flow(rp, "olga", "openid offline_access");
        let at = t["access_token"].as_str().unwrap();
        let i = introspect(s, at, None);
        assert_eq!(i["active"], true, "{i}");
        assert_eq!(i["client_id"], rp.id.as_str());
        assert_eq!(i["sub"], "olga");
        assert_eq!(i["scope"], "openid offline_access");
        assert_eq!(i["token_type"], "Bearer");
        assert_eq!(i["token_use"], "access_token");
        assert_eq!(i["iss"], s.base.as_str());
        assert_eq!(i["aud"], json!([]));
        assert_eq!(i["ext"], json!({"tier": "gold"}), "the consent's session.access_token");
        let (iat, exp) = (i["iat"].as_i64().unwrap(), i["exp"].as_i64().unwrap());
        assert_eq!(exp - iat, 3600);
        assert_eq!(i["nbf"], iat);
        assert!((iat - now()).abs() < 30);
        let r = introspect(s, t["refresh_token"].as_str().unwrap(), None);
        assert_eq!((r["active"].as_bool(), r["token_use"].as_str()), (Some(true), Some("refresh_token")), "{r}");
        assert_eq!(r["sub"], "olga");
        // All required scopes must have been granted.
        assert_eq!(introspect(s, at, Some("openid"))["active"], true);
        assert_eq!(introspect(s, at, Some("openid offline_access"))["active"], true);
        assert_eq!(introspect(s, at, Some("openid profile"))["active"], false);
        // The ID token is not an access token.
        assert_eq!(introspect(s, t["id_token"].as_str().unwrap(), None), json!({"active": false}));
    }
}

/// Hydra's `oauth2.allowed_top_level_claims`, `mirror_top_level_claims: false` and
/// `exclude_not_before_claim`: the JWT changes shape, introspection still reports the session.
#[test]
fn jwt_access_tokens_follow_the_top_level_claim_settings() {
    let s = common::Server::start(&[
        ("OAUTH2_ALLOWED_TOP_LEVEL_CLAIMS", "tier,sub"),
        ("OAUTH2_MIRROR_TOP_LEVEL_CLAIMS", "false"),
        ("OAUTH2_EXCLUDE_NOT_BEFORE_CLAIM", "true"),
    ]);
    let rp = Rp::register(&s, json!({"access_token_strategy": "jwt"}));
    let t = tokens_via_flow(&rp, "olga", "openid offline_access");
    let check = |at: &str| {
        let c = decode_part(at, 1);
        assert_eq!(c["tier"], "gold", "{c}");
        assert_eq!(c["sub"], "olga", "a reserved claim is never taken from the session");
        assert!(c.get("ext").is_none() && c.get("nbf").is_none(), "{c}");
        let i = introspect(&s, at, None);
        assert_eq!((i["active"].as_bool(), &i["ext"]), (Some(true), &json!({"tier": "gold"})), "{i}");
    };
    check(t["access_token"].as_str().unwrap());
    // A refreshed token has the same shape: the session's data comes from the stored grant.
    let (status, refreshed) = refresh(&rp, t["refresh_token"].as_str().unwrap(), &[]);
    assert_eq!(status, 200, "{refreshed}");
    check(refreshed["access_token"].as_str().unwrap());
}

/// With a claim copied to the top level and mirrored under `ext`, session data that fits the
/// consent verifier can make a JWT longer than this server reads back: it is not issued (a 500
/// that says why), and the code stays unredeemed.
#[test]
fn a_jwt_access_token_too_long_to_read_back_is_not_issued() {
    let s = common::Server::start(&[("OAUTH2_ALLOWED_TOP_LEVEL_CLAIMS", "profile")]);
    let rp = Rp::register(&s, json!({"access_token_strategy": "jwt"}));
    let b = s.browser();
    let login = to_login(&b, &rp.auth_url(&[("scope", "openid")]));
    let consent = to_consent(&b, &accept_login(&s, &login, &json!({"subject": "olga"})));
    let session = json!({"access_token": {"profile": "p".repeat(7000)}});
    let to = accept_consent(&s, &consent, &json!({"grant_scope": ["openid"], "session": session}));
    let code = param(&location(&to_client(&b, &to)), "code").expect("a code");
    let (status, body, _) = rp.exchange(&code, VERIFIER);
    assert_eq!((status, body["error"].as_str()), (500, Some("server_error")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("access_token data smaller"), "{body}");
    let rows = s.d1("SELECT COUNT(*) AS n FROM tokens");
    assert_eq!(rows[0]["n"], 0, "nothing was stored");
}

#[test]
fn anything_not_active_is_just_inactive() {
    let s = shared();
    let rp = Rp::register(s, json!({"access_token_strategy": "jwt"}));
    let t = tokens_via_flow(&rp, "pia", "openid offline_access");
    let at = t["access_token"].as_str().unwrap().to_string();
    let (h, c, sig) = {
        let mut p = at.split('.');
        (p.next().unwrap().to_string(), p.next().unwrap().to_string(), p.next().unwrap().to_string())
    };
    let claims = decode_part(&at, 1);
    let enc = |v: &serde_json::Value| b64url(&serde_json::to_vec(v).unwrap());
    let mut forged_claims = claims.clone();
    forged_claims["scp"] = json!(["admin"]);
    let (_, jwks) = json_of(s.client().get(s.url("/.well-known/jwks.json")).send().unwrap());
    let kid = decode_part(&at, 0)["kid"].clone();
    let public = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).unwrap().clone();
    let hs256 = |input: &str, key: &[u8]| {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(input.as_bytes());
        b64url(&mac.finalize().into_bytes())
    };
    let none_input = format!("{}.{c}", enc(&json!({"alg": "none", "typ": "at+jwt", "kid": kid})));
    let hs_input = format!("{}.{c}", enc(&json!({"alg": "HS256", "typ": "at+jwt", "kid": kid})));
    let jwt_typ_input = format!("{}.{c}", enc(&json!({"alg": "ES256", "typ": "JWT", "kid": kid})));
    let cases = vec![
        ("unknown opaque", "ory_at_AAAA.BBBB".to_string()),
        ("garbage", "not a token".to_string()),
        ("oversized", "a".repeat(20_000)),
        ("alg none", format!("{none_input}.")),
        ("alg none with signature", format!("{none_input}.{sig}")),
        ("HS256 keyed with the public JWK", format!("{hs_input}.{}", hs256(&hs_input, public.to_string().as_bytes()))),
        ("forged claims", format!("{h}.{}.{sig}", enc(&forged_claims))),
        ("typ JWT instead of at+jwt", format!("{jwt_typ_input}.{sig}")),
        ("zero signature", format!("{h}.{c}.{}", b64url(&[0u8; 64]))),
        ("five parts", format!("{at}.x.y")),
    ];
    for (what, token) in &cases {
        assert_eq!(introspect(s, token, None), json!({"active": false}), "{what}");
    }
    assert_eq!(introspect(s, &at, None)["active"], true, "the real token is still active");

    // Expired.
    let (id, secret) = machine_client(
        s,
        json!({"access_token_strategy": "jwt", "client_credentials_grant_access_token_lifespan": "1s"}),
    );
    let (_, body, _) = token_request(s, &id, &secret, &[("grant_type", "client_credentials")]);
    let short = body["access_token"].as_str().unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(introspect(s, &short, None), json!({"active": false}), "expired");

    // Bad requests are 400, not inactive; the admin token is required.
    let r = s.admin(Method::POST, "/admin/oauth2/introspect").form(&[("scope", "x")]).send().unwrap();
    let (status, body) = json_of(r);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
    let r = s.admin(Method::POST, "/admin/oauth2/introspect").send().unwrap();
    assert_eq!(r.status(), 400);
    let r = s.admin(Method::POST, "/admin/oauth2/introspect").form(&[("token", "a"), ("token", "b")]).send().unwrap();
    assert_eq!(r.status(), 400);
    let r = s.client().post(s.url("/admin/oauth2/introspect")).form(&[("token", at.as_str())]).send().unwrap();
    assert_eq!(r.status(), 401);
}

#[test]
fn a_replayed_code_makes_the_first_tokens_inactive() {
    let s = shared();
    for strategy in ["opaque", "jwt"] {
        let rp = Rp::register(s, json!({"access_token_strategy": strategy}));
        let r = run_flow(&rp, &s.browser(), &rp.auth_url(&[]), "quinn");
        let code = param(&location(&r), "code").unwrap();
        let (status, first, _) = rp.exchange(&code, VERIFIER);
        assert_eq!(status, 200);
        assert!(active(s, first["access_token"].as_str().unwrap()));
        let (status, _, _) = rp.exchange(&code, VERIFIER);
        assert_eq!(status, 400);
        assert!(!active(s, first["access_token"].as_str().unwrap()), "{strategy}: replay revokes the access token");
        assert!(!active(s, first["refresh_token"].as_str().unwrap()), "{strategy}: and the refresh token");
    }
}
