//! Client and key administration on the host platform, and the staleness bounds of
//! docs/storage.md across two locations (KV propagation modelled at its worst: another location
//! serves its older copy for the whole propagation delay). On top of KV, an isolate keeps a
//! client it read for `ISOLATE_CACHE_MS` (10 s): every bound below is KV's plus that copy's.

mod host_support;

use host_support::*;
use hydra_edge::host::{block_on, KV_PROPAGATION_MS};
use hydra_edge::http::Method;
use hydra_edge::platform::Platform;
use hydra_edge::store::clients::ISOLATE_CACHE_MS;
use serde_json::{json, Value};

/// A token request with client_secret_basic at location `p`; the code is not real, so a
/// client that authenticates gets 400 invalid_grant and one that does not 401 invalid_client.
fn authenticates(h: &Host, p: &hydra_edge::host::HostPlatform, id: &str, secret: &str) -> bool {
    let body = form(&[("grant_type", "authorization_code"), ("code", "ory_ac_x.y"), ("redirect_uri", REDIRECT)]);
    let r = h.post_form_at(p, "/oauth2/token", &body, &[("authorization", &basic(id, secret))]);
    match r.status() {
        400 => true,
        401 => false,
        _ => panic!("unexpected answer {r}"),
    }
}

#[test]
fn client_crud_and_pagination() {
    let h = Host::new();
    let (status, c) =
        h.admin(Method::Post, "/admin/clients", Some(&json!({"client_name": "one", "redirect_uris": [REDIRECT]})));
    assert_eq!(status, 201, "{c}");
    let id = c["client_id"].as_str().unwrap().to_string();
    assert!(c["client_secret"].as_str().unwrap().len() >= 26);
    let (status, got) = h.admin(Method::Get, &format!("/admin/clients/{id}"), None);
    assert_eq!((status, got["client_name"].as_str()), (200, Some("one")));
    assert!(got.get("client_secret").is_none() || got["client_secret"] == "", "{got}");
    let (status, patched) = h.admin(
        Method::Patch,
        &format!("/admin/clients/{id}"),
        Some(&json!([{"op": "replace", "path": "/client_name", "value": "two"}])),
    );
    assert_eq!((status, patched["client_name"].as_str()), (200, Some("two")), "{patched}");
    for i in 0..3 {
        h.admin(Method::Post, "/admin/clients", Some(&json!({"client_name": format!("c{i}")})));
    }
    let r = h.admin_at(&h.p, Method::Get, "/admin/clients?page_size=2", None);
    assert_eq!(r.json().as_array().unwrap().len(), 2);
    assert!(r.header("link").unwrap_or_default().contains("rel=\"next\""), "{r}");
    assert_eq!(h.admin(Method::Delete, &format!("/admin/clients/{id}"), None).0, 204);
    assert_eq!(h.admin(Method::Get, &format!("/admin/clients/{id}"), None).0, 404);
    assert_eq!(h.admin(Method::Delete, &format!("/admin/clients/{id}"), None).0, 404);
    // Without the admin token: 401.
    assert_eq!(h.get("/admin/clients").status(), 401);
}

#[test]
fn a_rotated_secret_reaches_other_locations_within_the_kv_propagation_delay() {
    let h = Host::new();
    let b = h.world.location("b");
    let rp = h.register(json!({}));
    assert!(authenticates(&h, &b, &rp.id, &rp.secret), "b caches the client");
    h.world.advance_secs(1);
    let (status, _) = h.admin(
        Method::Patch,
        &format!("/admin/clients/{}", rp.id),
        Some(&json!([{"op": "replace", "path": "/client_secret", "value": "a-new-secret-that-is-long-enough"}])),
    );
    assert_eq!(status, 200);
    // Where the write ran: at once.
    assert!(!authenticates(&h, &h.p, &rp.id, &rp.secret));
    assert!(authenticates(&h, &h.p, &rp.id, "a-new-secret-that-is-long-enough"));
    // Elsewhere: the old copy until KV's propagation delay has passed, and an isolate's own copy
    // of it for at most ISOLATE_CACHE_MS more; never longer.
    h.world.advance_secs(58);
    assert!(authenticates(&h, &b, &rp.id, &rp.secret), "stale within the bound (allowed)");
    h.world.advance_secs(2);
    let key = format!("client:v1:{}", rp.id);
    let at_b = block_on(b.kv_get(&key)).unwrap().map(|v| serde_json::from_str::<Value>(&v).unwrap()["version"].clone());
    assert_ne!(at_b, Some(json!(1)), "60 s after the write KV has no old copy at b");
    h.world.advance_ms(KV_PROPAGATION_MS + ISOLATE_CACHE_MS - 60_000); // the write + 70 s
    assert!(
        !authenticates(&h, &b, &rp.id, &rp.secret),
        "60 s + 10 s after the write the old secret is gone everywhere"
    );
    assert!(authenticates(&h, &b, &rp.id, "a-new-secret-that-is-long-enough"));
}

#[test]
fn a_stale_copy_never_outlives_the_client_cache_ttl() {
    let h = Host::new();
    h.world.set_kv_delay_ms(3_600_000); // a KV far slower than documented
    let b = h.world.location("b");
    let rp = h.register(json!({}));
    assert!(authenticates(&h, &b, &rp.id, &rp.secret));
    assert_eq!(h.admin(Method::Delete, &format!("/admin/clients/{}", rp.id), None).0, 204);
    h.world.advance_secs(299);
    assert!(authenticates(&h, &b, &rp.id, &rp.secret), "cached copy, within CLIENT_CACHE_TTL");
    h.world.advance_secs(1);
    let key = format!("client:v1:{}", rp.id);
    assert_eq!(block_on(b.kv_get(&key)).unwrap(), None, "KV's copy expires with CLIENT_CACHE_TTL (300 s)");
    h.world.advance_ms(ISOLATE_CACHE_MS);
    assert!(
        !authenticates(&h, &b, &rp.id, &rp.secret),
        "CLIENT_CACHE_TTL and the isolate's copy of what it read last (10 s) bound it"
    );
}

#[test]
fn a_stale_copy_written_back_by_a_concurrent_reader_is_deleted_again_after_5_s() {
    let h = Host::new();
    let rp = h.register(json!({}));
    // A reader loads the row from D1 just before the write ...
    let old = block_on(hydra_edge::store::clients::get(&h.p, &rp.id)).unwrap().unwrap();
    h.admin(
        Method::Patch,
        &format!("/admin/clients/{}", rp.id),
        Some(&json!([{"op": "replace", "path": "/client_secret", "value": "a-new-secret-that-is-long-enough"}])),
    );
    // ... and puts it into KV just after the write's first delete.
    let key = format!("client:v1:{}", rp.id);
    block_on(h.p.kv_put(&key, &serde_json::to_string(&old).unwrap(), 300)).unwrap();
    assert!(authenticates(&h, &h.p, &rp.id, &rp.secret), "the stale copy answers for now");
    h.world.advance_secs(5);
    assert_eq!(block_on(h.p.kv_get(&key)).unwrap(), None, "the second delete removed it");
    h.world.advance_ms(ISOLATE_CACHE_MS);
    assert!(!authenticates(&h, &h.p, &rp.id, &rp.secret), "and the isolate's copy of it expired");
}

#[test]
fn keys_generate_rotate_and_reach_the_jwks_of_other_locations_within_the_delay() {
    let h = Host::new();
    let b = h.world.location("b");
    for alg in ["ES256", "ES512", "RS256", "HS256"] {
        let (status, body) =
            h.admin(Method::Post, &format!("/admin/keys/set-{alg}"), Some(&json!({"alg": alg, "use": "sig"})));
        assert_eq!(status, 201, "{alg}: {body}");
        let k = &body["keys"][0];
        assert_eq!(k["alg"], alg);
        assert!(k.get("d").is_some() || k.get("k").is_some(), "Hydra answers with the private key: {k}");
    }
    let kids = |r: Value| -> Vec<String> {
        r["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect()
    };
    let before = kids(h.send_at(&b, Method::Get, "/.well-known/jwks.json", &[], b"").json());
    assert_eq!(before.len(), 3, "an ES256 key per published set and the ID-token set's RS256 key");
    // Creating the sets invalidated the cache again 5 s later; b caches the document anew.
    h.world.advance_secs(10);
    assert_eq!(kids(h.send_at(&b, Method::Get, "/.well-known/jwks.json", &[], b"").json()), before);
    let doc = h.get("/.well-known/jwks.json").text();
    assert!(!doc.contains("\"d\""), "no private part published: {doc}");
    let (status, body) = h.admin(
        Method::Post,
        "/admin/keys/hydra.openid.id-token",
        Some(&json!({"alg": "ES256", "use": "sig", "kid": "rotated"})),
    );
    assert_eq!(status, 201, "{body}");
    let new_kid = body["keys"][0]["kid"].as_str().unwrap().to_string();
    assert!(kids(h.get("/.well-known/jwks.json").json()).contains(&new_kid), "at once where the write ran");
    h.world.advance_secs(59);
    assert!(
        !kids(h.send_at(&b, Method::Get, "/.well-known/jwks.json", &[], b"").json()).contains(&new_kid),
        "stale at b (allowed)"
    );
    // b's isolate keeps the document it just read for JWKS_MEMORY_MS more (docs/storage.md).
    h.world.advance_ms(1_000 + hydra_edge::keys::signing::JWKS_MEMORY_MS);
    assert!(
        kids(h.send_at(&b, Method::Get, "/.well-known/jwks.json", &[], b"").json()).contains(&new_kid),
        "at b within 60 s plus the isolate's memory bound"
    );
    // New ID tokens are signed with the new key.
    let rp = h.register(json!({}));
    let t = h.exchange(&rp, &h.code(&rp, "kim")).json();
    let header: Value = serde_json::from_slice(
        &hydra_edge::crypto::b64url_decode(t["id_token"].as_str().unwrap().split('.').next().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], new_kid.as_str());
}

#[test]
fn a_stale_jwks_written_back_by_a_concurrent_reader_is_deleted_again_after_5_s() {
    let h = Host::new();
    // A reader builds the document from D1 just before a key write ...
    let old = h.get("/.well-known/jwks.json").text();
    let (status, _) =
        h.admin(Method::Post, "/admin/keys/hydra.openid.id-token", Some(&json!({"alg": "ES256", "use": "sig"})));
    assert_eq!(status, 201);
    // ... and caches it just after the write's delete.
    block_on(h.p.kv_put("jwks:public:v1", &old, 300)).unwrap();
    assert_eq!(h.get("/.well-known/jwks.json").text(), old, "the stale document answers for now");
    h.world.advance_secs(5);
    assert_eq!(block_on(h.p.kv_get("jwks:public:v1")).unwrap(), None, "the second delete removed the stale document");
    // The isolate that read it keeps it for its memory bound (docs/storage.md), then reads anew.
    h.world.advance_ms(hydra_edge::keys::signing::JWKS_MEMORY_MS);
    let fresh: Value = h.get("/.well-known/jwks.json").json();
    assert_eq!(fresh["keys"].as_array().unwrap().len(), 4, "{fresh}");
}

/// A remembered consent whose `remember_for` ran out is no longer listed (Hydra v26), by page
/// and by offset (with its count); one remembered for ever (`remember_for` 0) stays.
#[test]
fn expired_remembered_consents_are_not_listed() {
    let h = Host::new();
    let rp = h.register(json!({}));
    let consent = |b: &mut Browser, remember_for: i64| {
        let r = b.get(&h, &rp.auth_url(&[("prompt", "login")]));
        let login = r.param("login_challenge").unwrap();
        let accepted = h.accept_login(&login, &json!({"subject": "frank", "context": {"from": "login"}}));
        let r = b.get(&h, accepted.json()["redirect_to"].as_str().unwrap());
        let challenge = r.param("consent_challenge").unwrap();
        let mut body = json!({"grant_scope": ["openid"], "remember": true, "remember_for": remember_for});
        if remember_for > 0 {
            body["context"] = json!({"from": "consent"});
        }
        let accepted = h.accept_consent(&challenge, &body);
        assert_eq!(accepted.status(), 200, "{accepted}");
        b.get(&h, accepted.json()["redirect_to"].as_str().unwrap());
    };
    consent(&mut Browser::default(), 60);
    consent(&mut Browser::default(), 0);
    let listed = |query: &str| {
        let r =
            h.admin_at(&h.p, Method::Get, &format!("/admin/oauth2/auth/sessions/consent?subject=frank{query}"), None);
        assert_eq!(r.status(), 200, "{r}");
        (r.json().as_array().unwrap().len(), r.header("x-total-count"))
    };
    assert_eq!(listed("").0, 2);
    // One context per flow, as Hydra keeps it: the consent app's if it sent one, else the login
    // app's, in the session and in its consent request alike.
    let r = h.admin_at(&h.p, Method::Get, "/admin/oauth2/auth/sessions/consent?subject=frank", None);
    let items = r.json();
    for (item, from) in items.as_array().unwrap().iter().zip(["consent", "login"]) {
        assert_eq!(item["context"]["from"], from, "{item}");
        assert_eq!(item["consent_request"]["context"]["from"], from, "{item}");
    }
    h.world.advance_secs(61);
    assert_eq!(listed("").0, 1);
    let (n, total) = listed("&limit=10&offset=0");
    assert_eq!((n, total.as_deref()), (1, Some("1")));
}
