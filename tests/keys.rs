//! End-to-end tests of `/admin/keys` and what `/.well-known/jwks.json` publishes.

mod common;

use common::{assert_admin_error, json_of, shared, unique, Server};
use reqwest::Method;
use serde_json::{json, Value};

fn b64len(v: &Value) -> usize {
    let s = v.as_str().unwrap();
    s.len() * 3 / 4
}

fn public_jwks(s: &Server) -> Vec<Value> {
    let (_, doc) = json_of(s.client().get(s.url("/.well-known/jwks.json")).send().unwrap());
    doc["keys"].as_array().unwrap().clone()
}

#[test]
fn generate_every_supported_algorithm() {
    let s = shared();
    let set = unique("gen");
    let (status, body) =
        s.admin_json(Method::POST, &format!("/admin/keys/{set}"), &json!({"alg": "ES256", "use": "sig", "kid": "es"}));
    assert_eq!(status, 201, "{body}");
    let k = &body["keys"][0];
    assert_eq!(body["keys"].as_array().unwrap().len(), 1, "only the new key is returned");
    assert_eq!((k["kty"].as_str(), k["crv"].as_str(), k["kid"].as_str()), (Some("EC"), Some("P-256"), Some("es")));
    assert!(k["d"].is_string() && k["x"].is_string() && k["y"].is_string());

    let (_, body) = s.admin_json(Method::POST, &format!("/admin/keys/{set}"), &json!({"alg": "HS256", "use": "sig"}));
    assert_eq!(b64len(&body["keys"][0]["k"]), 32);
    assert_eq!(body["keys"][0]["kid"].as_str().unwrap().len(), 36, "a UUID kid when none is given");
    let (_, body) = s.admin_json(Method::POST, &format!("/admin/keys/{set}"), &json!({"alg": "HS512", "use": "sig"}));
    assert!(b64len(&body["keys"][0]["k"]) >= 64);
    let (status, body) =
        s.admin_json(Method::POST, &format!("/admin/keys/{set}"), &json!({"alg": "RS256", "use": "sig", "kid": "rsa"}));
    assert_eq!(status, 201, "{body}");
    let rsa = &body["keys"][0];
    for m in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] {
        assert!(rsa[m].is_string(), "RSA member {m}");
    }
    assert!(rsa.get("key_ops").is_none() && rsa.get("ext").is_none());
    let (status, _) = s.admin_json(Method::POST, &format!("/admin/keys/{set}"), &json!({"alg": "ES512", "use": "sig"}));
    assert_eq!(status, 201);

    // Newest first; private parts included for admins.
    let (status, all) = s.admin_get(&format!("/admin/keys/{set}"));
    assert_eq!(status, 200);
    let keys = all["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 5);
    assert_eq!(keys.last().unwrap()["kid"], "es");
    assert_eq!(keys[1]["kid"], "rsa");
    let (status, one) = s.admin_get(&format!("/admin/keys/{set}/rsa"));
    assert_eq!(status, 200);
    assert_eq!(one["keys"][0]["d"], rsa["d"]);

    // A kid that exists already is a conflict.
    let (status, _) =
        s.admin_json(Method::POST, &format!("/admin/keys/{set}"), &json!({"alg": "ES256", "use": "sig", "kid": "es"}));
    assert_eq!(status, 409);
}

#[test]
fn unsupported_algorithms_and_bad_bodies_change_nothing() {
    let s = shared();
    let set = unique("bad");
    s.admin_json(Method::POST, &format!("/admin/keys/{set}"), &json!({"alg": "ES256", "use": "sig", "kid": "only"}));
    for body in [
        json!({"alg": "PS256", "use": "sig"}),
        json!({"alg": "none"}),
        json!({"alg": ""}),
        json!({"use": "sig"}),
        json!({"alg": "ES256", "use": "wrap"}),
    ] {
        let (status, resp) = s.admin_json(Method::POST, &format!("/admin/keys/{set}"), &body);
        assert_eq!(status, 400, "{body}: {resp}");
        assert_admin_error(&resp, 400);
    }
    let (_, resp) = s.admin_json(Method::POST, &format!("/admin/keys/{set}"), &json!({"alg": "XS256", "use": "sig"}));
    assert_eq!(resp["error"], "Bad Request");
    assert!(resp["error_description"].as_str().unwrap().starts_with("Unsupported key algorithm"));
    let (_, all) = s.admin_get(&format!("/admin/keys/{set}"));
    assert_eq!(all["keys"].as_array().unwrap().len(), 1);
    assert_eq!(s.admin_get("/admin/keys/no-such-set").0, 404);
    assert_eq!(s.admin_get(&format!("/admin/keys/{set}/no-such-kid")).0, 404);
}

#[test]
fn put_set_and_key() {
    let s = shared();
    let set = unique("put");
    // Keys made by the server, imported into another set.
    let (_, a) = s.admin_json(
        Method::POST,
        &format!("/admin/keys/{set}-src"),
        &json!({"alg": "ES256", "use": "sig", "kid": "a"}),
    );
    let (_, b) = s.admin_json(
        Method::POST,
        &format!("/admin/keys/{set}-src"),
        &json!({"alg": "ES256", "use": "sig", "kid": "b"}),
    );
    let (ka, kb) = (a["keys"][0].clone(), b["keys"][0].clone());
    let (status, echoed) = s.admin_json(Method::PUT, &format!("/admin/keys/{set}"), &json!({"keys": [kb, ka]}));
    assert_eq!(status, 200, "{echoed}");
    let (_, got) = s.admin_get(&format!("/admin/keys/{set}"));
    assert_eq!(got["keys"][0]["kid"], "b", "the first key of a replaced set is the newest");
    assert_eq!(got["keys"].as_array().unwrap().len(), 2);

    // Invalid sets are refused as a whole.
    let mut missing_public = ka.clone();
    missing_public.as_object_mut().unwrap().remove("y");
    for bad in [json!({"keys": [kb, missing_public]}), json!({"keys": [kb, kb]}), json!({"keys": "nope"}), json!([])] {
        let (status, resp) = s.admin_json(Method::PUT, &format!("/admin/keys/{set}"), &bad);
        assert_eq!(status, 400, "{bad}: {resp}");
    }
    let (_, still) = s.admin_get(&format!("/admin/keys/{set}"));
    assert_eq!(still, got);

    // PUT of one key: the body's kid wins over the path's.
    let mut renamed = ka.clone();
    renamed["kid"] = json!("c");
    let (status, resp) = s.admin_json(Method::PUT, &format!("/admin/keys/{set}/whatever"), &renamed);
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["kid"], "c");
    assert_eq!(s.admin_get(&format!("/admin/keys/{set}/c")).0, 200);
    assert_eq!(s.admin_get(&format!("/admin/keys/{set}/whatever")).0, 404);
    let (status, resp) = s.admin_json(Method::PUT, &format!("/admin/keys/{set}/c"), &missing_public);
    assert_eq!(status, 400);
    assert!(resp["reason"].as_str().unwrap().contains("public part"), "{resp}");

    assert_eq!(s.admin(Method::DELETE, &format!("/admin/keys/{set}/c")).send().unwrap().status(), 204);
    assert_eq!(s.admin_get(&format!("/admin/keys/{set}/c")).0, 404);
    assert_eq!(s.admin(Method::DELETE, &format!("/admin/keys/{set}")).send().unwrap().status(), 204);
    assert_eq!(s.admin_get(&format!("/admin/keys/{set}")).0, 404);
}

#[test]
fn private_material_is_encrypted_at_rest() {
    let s = shared();
    let set = unique("rest");
    let (_, body) =
        s.admin_json(Method::POST, &format!("/admin/keys/{set}"), &json!({"alg": "ES256", "use": "sig", "kid": "k"}));
    let d = body["keys"][0]["d"].as_str().unwrap().to_string();
    let (_, hs) =
        s.admin_json(Method::POST, &format!("/admin/keys/{set}"), &json!({"alg": "HS256", "use": "sig", "kid": "h"}));
    let k = hs["keys"][0]["k"].as_str().unwrap().to_string();
    let rows = s.d1(&format!("SELECT kid, public_jwk, private_jwk_enc FROM jwk WHERE set_id = '{set}'"));
    assert_eq!(rows.len(), 2);
    let dump = serde_json::to_string(&rows).unwrap();
    assert!(!dump.contains(&d) && !dump.contains(&k), "private material in clear: {dump}");
    let hs_row = rows.iter().find(|r| r["kid"] == "h").unwrap();
    assert_eq!(hs_row["public_jwk"], Value::Null, "symmetric keys have no public part");
}

#[test]
fn jwks_shows_signing_set_changes_at_once_and_public_parts_only() {
    let s = Server::start(&[]);
    let before = public_jwks(&s);
    assert_eq!(before.len(), 3, "ES256 for both sets, RS256 for ID tokens");
    let (_, body) = s.admin_json(
        Method::POST,
        "/admin/keys/hydra.openid.id-token",
        &json!({"alg": "RS256", "use": "sig", "kid": "rotated-rsa"}),
    );
    assert_eq!(body["keys"][0]["kid"], "rotated-rsa");
    let after = public_jwks(&s);
    assert_eq!(after.len(), 4);
    let rsa = after.iter().find(|k| k["kid"] == "rotated-rsa").expect("new key published");
    assert!(rsa.get("d").is_none() && rsa.get("p").is_none());
    assert!(rsa["n"].is_string() && rsa["e"].is_string());
    // The discovery document names the algorithm of the newest ID-token key.
    let (_, doc) = json_of(s.client().get(s.url("/.well-known/openid-configuration")).send().unwrap());
    assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["RS256"]));
    // Keys of other sets are never published; symmetric keys never are.
    s.admin_json(
        Method::POST,
        "/admin/keys/hydra.openid.id-token",
        &json!({"alg": "HS256", "use": "sig", "kid": "secret"}),
    );
    s.admin_json(Method::POST, "/admin/keys/private-set", &json!({"alg": "ES256", "use": "sig", "kid": "hidden"}));
    let now = public_jwks(&s);
    assert!(now.iter().all(|k| k["kid"] != "secret" && k["kid"] != "hidden"));
    assert_eq!(s.admin(Method::DELETE, "/admin/keys/hydra.openid.id-token/rotated-rsa").send().unwrap().status(), 204);
    assert!(public_jwks(&s).iter().all(|k| k["kid"] != "rotated-rsa"));
}

#[test]
fn key_routes_require_the_token() {
    let s = shared();
    public_jwks(s);
    for (method, path) in [
        (Method::GET, "/admin/keys/hydra.openid.id-token"),
        (Method::POST, "/admin/keys/x"),
        (Method::PUT, "/admin/keys/x/y"),
        (Method::DELETE, "/admin/keys/hydra.openid.id-token"),
        (Method::GET, "/keys/x"),
    ] {
        let (status, body) =
            json_of(s.client().request(method.clone(), s.url(path)).json(&json!({"alg": "ES256"})).send().unwrap());
        assert_eq!(status, 401, "{method} {path}");
        assert!(!body.to_string().contains("\"d\""));
    }
    assert_eq!(s.admin_get("/admin/keys/hydra.openid.id-token").0, 200, "nothing was deleted");
}
