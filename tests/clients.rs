//! End-to-end tests of `/admin/clients` and dynamic client registration, through the Worker
//! in workerd with local D1 and KV: every route, Hydra's field names and defaults, secrets,
//! validation errors, pagination, and that bad input changes nothing.

mod common;

use std::collections::HashSet;

use common::{assert_admin_error, json_of, shared, unique, Server};
use reqwest::Method;
use serde_json::{json, Value};

fn create(s: &Server, body: &Value) -> Value {
    let r = s.admin(Method::POST, "/admin/clients").json(body).send().unwrap();
    assert_eq!(r.status(), 201, "create failed: {}", r.text().unwrap());
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let (_, v) = json_of(r);
    assert_eq!(location, format!("/admin/clients/{}", v["client_id"].as_str().unwrap()));
    v
}

fn get(s: &Server, id: &str) -> (u16, Value) {
    s.admin_get(&format!("/admin/clients/{id}"))
}

fn stored_row(s: &Server, id: &str) -> Value {
    let rows = s.d1(&format!("SELECT data, secret_hash, version FROM clients WHERE id = '{id}'"));
    rows.into_iter().next().unwrap_or(Value::Null)
}

fn full_client(id: &str) -> Value {
    json!({
        "client_id": id,
        "client_name": "Full client",
        "redirect_uris": ["https://app.example/cb", "http://127.0.0.1:9000/cb", "com.example.app:/oauth"],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types": ["code", "code id_token"],
        "scope": "openid offline_access profile",
        "audience": ["https://api.example"],
        "owner": "team-a",
        "policy_uri": "https://app.example/policy",
        "tos_uri": "https://app.example/tos",
        "client_uri": "https://app.example",
        "logo_uri": "https://app.example/logo.png",
        "contacts": ["ops@app.example"],
        "allowed_cors_origins": ["https://app.example/"],
        "token_endpoint_auth_method": "client_secret_post",
        "userinfo_signed_response_alg": "none",
        "frontchannel_logout_uri": "https://app.example/fc",
        "frontchannel_logout_session_required": true,
        "backchannel_logout_uri": "https://app.example/bc",
        "backchannel_logout_session_required": true,
        "post_logout_redirect_uris": ["https://app.example/bye"],
        "metadata": {"tier": "gold", "n": 1},
        "access_token_strategy": "jwt",
        "skip_consent": true,
        "skip_logout_consent": false,
        "authorization_code_grant_access_token_lifespan": "2h",
        "refresh_token_grant_refresh_token_lifespan": "720h",
        "subject_type": "public",
        "an_unknown_field": "ignored"
    })
}

#[test]
fn create_returns_every_field_with_hydra_names_and_the_secret_once() {
    let s = shared();
    let id = unique("full");
    let created = create(s, &full_client(&id));
    let secret = created["client_secret"].as_str().unwrap();
    assert_eq!(secret.len(), 26, "generated secret length");
    assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.~".contains(&b)));
    assert!(created["registration_access_token"].as_str().unwrap().starts_with("ory_at_"));
    assert_eq!(created["registration_client_uri"], s.url(&format!("/oauth2/register/{id}")));
    assert_eq!(created["allowed_cors_origins"], json!(["https://app.example"]), "trailing slash trimmed");
    assert_eq!(created["authorization_code_grant_access_token_lifespan"], "2h0m0s");
    assert_eq!(created["refresh_token_grant_refresh_token_lifespan"], "720h0m0s");
    assert_eq!(created["implicit_grant_id_token_lifespan"], Value::Null);
    assert_eq!(created["client_secret_expires_at"], 0);
    assert!(created.get("an_unknown_field").is_none());
    let ts = created["created_at"].as_str().unwrap();
    assert!(ts.ends_with('Z') && ts.len() == 20, "{ts}");

    let (status, fetched) = get(s, &id);
    assert_eq!(status, 200);
    assert!(fetched.get("client_secret").is_none(), "GET must not show the secret");
    assert!(fetched.get("registration_access_token").is_none());
    let input = full_client(&id);
    for (k, v) in input.as_object().unwrap() {
        match k.as_str() {
            "an_unknown_field" | "allowed_cors_origins" => {}
            k if k.ends_with("_lifespan") => assert!(fetched[k].as_str().unwrap().ends_with("m0s")),
            _ => assert_eq!(&fetched[k], v, "field {k}"),
        }
    }
    // Stored: the secret only as Hydra's PBKDF2 hash, never in the JSON.
    let row = stored_row(s, &id);
    let hash = row["secret_hash"].as_str().unwrap();
    assert!(hash.starts_with("$pbkdf2-sha256$i=25000,l=32$"), "{hash}");
    assert!(!row["data"].as_str().unwrap().contains(secret));
    assert!(!hash.contains(secret));
}

#[test]
fn defaults_for_a_minimal_client() {
    let s = shared();
    let created = create(s, &json!({}));
    let id = created["client_id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID is generated");
    assert_eq!(created["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(created["scope"], "offline_access offline openid");
    assert_eq!(created["subject_type"], "public");
    assert_eq!(created["userinfo_signed_response_alg"], "none");
    assert_eq!(created["jwks"], json!({}));
    assert_eq!(created["metadata"], json!({}));
    assert_eq!(created["audience"], json!([]));
    // Unset lists are `[]`, as Hydra answers when it reads a client back (its create answer
    // echoes `null`, which Ory's strict v1.x Python SDK refuses).
    for list in ["redirect_uris", "grant_types", "response_types", "contacts"] {
        assert_eq!(created[list], json!([]), "{list}");
        assert_eq!(get(s, id).1[list], json!([]), "{list}");
    }
    assert_eq!(created["skip_consent"], false);
    assert_eq!(created["skip_logout_consent"], false, "the document's boolean, not Hydra's null");
    assert!(created["client_secret"].is_string());
}

#[test]
fn public_clients_have_no_secret() {
    let s = shared();
    let created =
        create(s, &json!({"token_endpoint_auth_method": "none", "redirect_uris": ["https://spa.example/cb"]}));
    assert!(created.get("client_secret").is_none());
    let id = created["client_id"].as_str().unwrap();
    assert_eq!(stored_row(s, id)["secret_hash"], Value::Null);
    // Supplying one is an error, and nothing is stored.
    let id2 = unique("public-with-secret");
    let (status, body) = s.admin_json(
        Method::POST,
        "/admin/clients",
        &json!({"client_id": id2, "token_endpoint_auth_method": "none", "client_secret": "abcdefgh"}),
    );
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_client_metadata");
    assert_eq!(get(s, &id2).0, 404);
}

#[test]
fn supplied_secrets_must_have_six_characters() {
    let s = shared();
    let id = unique("short");
    let (status, body) =
        s.admin_json(Method::POST, "/admin/clients", &json!({"client_id": id, "client_secret": "12345"}));
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_client_metadata");
    assert!(body["error_description"].as_str().unwrap().contains("at least 6 characters"), "{body}");
    assert_eq!(get(s, &id).0, 404);
    let ok = create(s, &json!({"client_id": unique("six"), "client_secret": "123456"}));
    assert_eq!(ok["client_secret"], "123456");
}

#[test]
fn duplicate_client_id_is_409_and_keeps_the_first() {
    let s = shared();
    let id = unique("dup");
    create(s, &json!({"client_id": id, "client_name": "first"}));
    let (status, body) =
        s.admin_json(Method::POST, "/admin/clients", &json!({"client_id": id, "client_name": "second"}));
    assert_eq!(status, 409);
    assert_admin_error(&body, 409);
    assert_eq!(get(s, &id).1["client_name"], "first");
}

#[test]
fn validation_errors_use_hydra_codes_and_store_nothing() {
    let s = shared();
    let cases = vec![
        (json!({"redirect_uris": ["https://a.example/cb#x"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris": ["http://a.example/cb"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris": ["not a uri"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris": ["https:evil.example/cb"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris": ["https://a.example\\@evil.example/cb"]}), "invalid_redirect_uri"),
        (
            json!({"jwks_uri": "https://k.example/jwks", "jwks": {"keys": [{"kty": "EC", "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}}),
            "invalid_client_metadata",
        ),
        (json!({"token_endpoint_auth_method": "client_secret_jwt"}), "invalid_client_metadata"),
        (json!({"token_endpoint_auth_method": "private_key_jwt"}), "invalid_client_metadata"),
        (json!({"token_endpoint_auth_signing_alg": "none"}), "invalid_client_metadata"),
        (json!({"userinfo_signed_response_alg": "HS256"}), "invalid_client_metadata"),
        (json!({"grant_types": ["password"]}), "invalid_client_metadata"),
        (json!({"subject_type": "pairwise"}), "invalid_client_metadata"),
        (json!({"authorization_code_grant_access_token_lifespan": "forever"}), "invalid_client_metadata"),
        (json!({"policy_uri": "javascript:alert(1)"}), "invalid_client_metadata"),
    ];
    for (mut body, code) in cases {
        let id = unique("invalid");
        body["client_id"] = json!(id);
        let (status, resp) = s.admin_json(Method::POST, "/admin/clients", &body);
        assert_eq!(status, 400, "{body} -> {resp}");
        assert_eq!(resp["error"], code, "{body} -> {resp}");
        assert!(!resp["error_description"].as_str().unwrap().is_empty());
        assert_eq!(get(s, &id).0, 404, "{body} must not be stored");
    }
}

#[test]
fn bad_ids_wrong_types_and_malformed_json() {
    let s = shared();
    for id in ["a/b".to_string(), "x".repeat(300)] {
        let (status, body) = s.admin_json(Method::POST, "/admin/clients", &json!({"client_id": id}));
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_client_metadata");
    }
    assert_eq!(get(s, "a%2Fb").0, 404);
    assert_eq!(get(s, &"x".repeat(300)).0, 404);
    let (status, body) =
        s.admin_json(Method::POST, "/admin/clients", &json!({"redirect_uris": "https://a.example/cb"}));
    assert_eq!(status, 400);
    assert!(body["reason"].as_str().unwrap().contains("redirect_uris"), "{body}");
    let (status, body) = s.admin_json(Method::POST, "/admin/clients", &json!({"client_name": 7}));
    assert_eq!(status, 400);
    assert!(body["reason"].as_str().unwrap().contains("client_name"), "{body}");
    let name = unique("truncated");
    let (status, body) = json_of(
        s.admin(Method::POST, "/admin/clients").body(format!("{{\"client_name\": \"{name}\", ")).send().unwrap(),
    );
    assert_eq!(status, 400);
    assert!(body["reason"].as_str().unwrap().contains("not valid JSON"), "{body}");
    let (status, _) = s.admin_json(Method::POST, "/admin/clients", &json!(["not", "an", "object"]));
    assert_eq!(status, 400);
    assert_eq!(s.d1(&format!("SELECT COUNT(*) AS n FROM clients WHERE client_name = '{name}'"))[0]["n"], 0);
}

#[test]
fn put_replaces_everything_and_keeps_an_omitted_secret() {
    let s = shared();
    let id = unique("put");
    let created = create(
        s,
        &json!({"client_id": id, "client_name": "v1", "owner": "o1", "redirect_uris": ["https://a.example/cb"]}),
    );
    let hash_before = stored_row(s, &id)["secret_hash"].clone();
    let (status, body) = s.admin_json(
        Method::PUT,
        &format!("/admin/clients/{id}"),
        &json!({"client_id": "ignored-other-id", "client_name": "v2", "redirect_uris": ["https://b.example/cb"]}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["client_id"], id.as_str());
    assert_eq!(body["client_name"], "v2");
    assert_eq!(body["owner"], "", "PUT is a full replace");
    assert!(body.get("client_secret").is_none(), "secret not echoed when not changed");
    assert_eq!(body["created_at"], created["created_at"]);
    assert_eq!(stored_row(s, &id)["secret_hash"], hash_before, "omitted secret keeps the old hash");
    // A supplied secret is re-hashed and echoed once.
    let (status, body) =
        s.admin_json(Method::PUT, &format!("/admin/clients/{id}"), &json!({"client_secret": "new-secret-value"}));
    assert_eq!(status, 200);
    assert_eq!(body["client_secret"], "new-secret-value");
    assert_ne!(stored_row(s, &id)["secret_hash"], hash_before);
    // Invalid replacement changes nothing.
    let before = stored_row(s, &id);
    let (status, _) =
        s.admin_json(Method::PUT, &format!("/admin/clients/{id}"), &json!({"redirect_uris": ["https://x.example/#f"]}));
    assert_eq!(status, 400);
    assert_eq!(stored_row(s, &id), before);
    assert_eq!(s.admin_json(Method::PUT, "/admin/clients/does-not-exist", &json!({})).0, 404);
}

#[test]
fn json_patch_operations() {
    let s = shared();
    let id = unique("patch");
    create(
        s,
        &json!({"client_id": id, "client_name": "n", "redirect_uris": ["https://a.example/cb"], "contacts": ["a@x"]}),
    );
    let path = format!("/admin/clients/{id}");
    let patch = json!([
        {"op": "replace", "path": "/client_name", "value": "patched"},
        {"op": "add", "path": "/redirect_uris/-", "value": "https://b.example/cb"},
        {"op": "copy", "from": "/client_name", "path": "/owner"},
        {"op": "move", "from": "/contacts", "path": "/audience"},
        {"op": "add", "path": "/metadata/k", "value": "v"},
        {"op": "test", "path": "/client_name", "value": "patched"},
        {"op": "remove", "path": "/tos_uri"}
    ]);
    let (status, body) = s.admin_json(Method::PATCH, &path, &patch);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["client_name"], "patched");
    assert_eq!(body["owner"], "patched");
    assert_eq!(body["redirect_uris"], json!(["https://a.example/cb", "https://b.example/cb"]));
    assert_eq!(body["audience"], json!(["a@x"]));
    assert_eq!(body["contacts"], json!([]));
    assert_eq!(body["metadata"], json!({"k": "v"}));

    // A failing test operation changes nothing, even after operations that would succeed.
    let before = stored_row(s, &id);
    let (status, body) = s.admin_json(
        Method::PATCH,
        &path,
        &json!([
            {"op": "replace", "path": "/client_name", "value": "should-not-stick"},
            {"op": "test", "path": "/client_name", "value": "something else"}
        ]),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(stored_row(s, &id), before);

    // client_id is not patchable, in any form.
    for op in [
        json!({"op": "replace", "path": "/client_id", "value": "x"}),
        json!({"op": "remove", "path": "/client_id"}),
        json!({"op": "move", "from": "/client_id", "path": "/owner"}),
    ] {
        let (status, body) = s.admin_json(Method::PATCH, &path, &json!([op]));
        assert_eq!(status, 400, "{op}: {body}");
    }
    // Removing a field that must be valid, invalid values, bad paths, bad documents.
    for bad in [
        json!([{"op": "replace", "path": "/redirect_uris", "value": ["http://insecure.example/cb"]}]),
        json!([{"op": "remove", "path": "/no_such_field"}]),
        json!([{"op": "replace", "path": "/token_endpoint_auth_method", "value": "private_key_jwt"}]),
        json!([{"op": "explode", "path": "/client_name"}]),
        json!({"op": "replace"}),
    ] {
        let (status, body) = s.admin_json(Method::PATCH, &path, &bad);
        assert_eq!(status, 400, "{bad}: {body}");
    }
    assert_eq!(stored_row(s, &id), before);

    // Patching the secret sets a new one and echoes it.
    let (status, body) = s.admin_json(
        Method::PATCH,
        &path,
        &json!([{"op": "replace", "path": "/client_secret", "value": "patched-secret"}]),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["client_secret"], "patched-secret");
    assert_eq!(s.admin_json(Method::PATCH, "/admin/clients/missing-client", &json!([])).0, 404);
}

#[test]
fn lifespans_and_delete() {
    let s = shared();
    let id = unique("life");
    create(s, &json!({"client_id": id, "authorization_code_grant_id_token_lifespan": "5m"}));
    let (status, body) = s.admin_json(Method::PUT, &format!("/admin/clients/{id}/lifespans"),
        &json!({"authorization_code_grant_access_token_lifespan": "1.5h", "client_credentials_grant_access_token_lifespan": "30s",
                "jwt_bearer_grant_access_token_lifespan": null}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["authorization_code_grant_access_token_lifespan"], "1h30m0s");
    assert_eq!(body["client_credentials_grant_access_token_lifespan"], "30s");
    assert_eq!(body["authorization_code_grant_id_token_lifespan"], Value::Null, "all lifespans are replaced");
    let (status, body) = s.admin_json(
        Method::PUT,
        &format!("/admin/clients/{id}/lifespans"),
        &json!({"implicit_grant_access_token_lifespan": "soon"}),
    );
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_client_metadata");
    assert_eq!(get(s, &id).1["authorization_code_grant_access_token_lifespan"], "1h30m0s");

    let r = s.admin(Method::DELETE, &format!("/admin/clients/{id}")).send().unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(get(s, &id).0, 404);
    let (status, body) = json_of(s.admin(Method::DELETE, &format!("/admin/clients/{id}")).send().unwrap());
    assert_eq!(status, 404);
    assert_admin_error(&body, 404);
}

fn links(r: &reqwest::blocking::Response) -> Vec<(String, String)> {
    let header = r.headers().get("link").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    header
        .split(',')
        .filter_map(|part| {
            let (url, rel) = part.split_once(';')?;
            let url = url.trim().trim_start_matches('<').trim_end_matches('>').to_string();
            let rel = rel.trim().trim_start_matches("rel=").trim_matches('"').to_string();
            Some((rel, url))
        })
        .collect()
}

#[test]
fn listing_paginates_with_link_headers_and_filters() {
    let s = Server::start(&[]);
    let owner = unique("owner");
    let mut ids = Vec::new();
    for i in 0..7 {
        let c = create(
            &s,
            &json!({"client_id": format!("{owner}-{i}"), "owner": owner, "client_name": format!("name-{}", i % 2)}),
        );
        ids.push(c["client_id"].as_str().unwrap().to_string());
    }
    create(&s, &json!({"owner": "someone-else"}));

    let mut seen = Vec::new();
    let mut url = s.url(&format!("/admin/clients?owner={owner}&page_size=3"));
    let mut pages = 0;
    loop {
        let r = s.client().get(&url).bearer_auth(common::ADMIN_TOKEN).send().unwrap();
        assert_eq!(r.status(), 200);
        let l = links(&r);
        assert_eq!(l[0].0, "first");
        assert!(l[0].1.contains("page_size=3") && l[0].1.contains("page_token="), "{l:?}");
        let (_, body) = json_of(r);
        for c in body.as_array().unwrap() {
            assert!(c.get("client_secret").is_none(), "secrets are never listed");
            seen.push(c["client_id"].as_str().unwrap().to_string());
        }
        pages += 1;
        match l.iter().find(|(rel, _)| rel == "next") {
            Some((_, next)) => url = next.clone(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids, "every client once, in a stable order");

    let (status, body) = s.admin_get(&format!("/admin/clients?owner={owner}&client_name=name-1"));
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 3);

    // Hydra's keyset pagination: page_size below 1 means the default, above 500 the maximum.
    let r = s.admin(Method::GET, "/admin/clients?page_size=0").send().unwrap();
    assert!(links(&r)[0].1.contains("page_size=100"));
    let r = s.admin(Method::GET, "/admin/clients?page_size=100000").send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(links(&r)[0].1.contains("page_size=500"));
    let (status, body) = s.admin_get("/admin/clients?page_size=many");
    assert_eq!(status, 400);
    assert_admin_error(&body, 400);
    for forged in ["abc", "eyJhZnRlciI6MH0", "x' OR 1=1 --"] {
        let (status, body) = s.admin_get(&format!("/admin/clients?page_token={}", forged.replace(' ', "%20")));
        assert_eq!(status, 400, "{forged}");
        assert!(body["reason"].as_str().unwrap().contains("page_token"), "{body}");
    }
}

#[test]
fn listing_is_stable_under_concurrent_inserts() {
    let s = Server::start(&[]);
    let owner = unique("busy");
    for i in 0..4 {
        create(&s, &json!({"client_id": format!("{owner}-a{i}"), "owner": owner}));
    }
    let writer = {
        let client = s.client();
        let url = s.url("/admin/clients");
        let owner = owner.clone();
        std::thread::spawn(move || {
            for i in 0..8 {
                let r = client
                    .post(&url)
                    .bearer_auth(common::ADMIN_TOKEN)
                    .json(&json!({"client_id": format!("{owner}-b{i}"), "owner": owner}))
                    .send()
                    .unwrap();
                assert_eq!(r.status(), 201);
            }
        })
    };
    let mut seen = Vec::new();
    let mut url = s.url(&format!("/admin/clients?owner={owner}&page_size=2"));
    loop {
        let r = s.client().get(&url).bearer_auth(common::ADMIN_TOKEN).send().unwrap();
        let next = links(&r).into_iter().find(|(rel, _)| rel == "next").map(|(_, u)| u);
        let (_, body) = json_of(r);
        seen.extend(body.as_array().unwrap().iter().map(|c| c["client_id"].as_str().unwrap().to_string()));
        match next {
            Some(n) => url = n,
            None => break,
        }
    }
    writer.join().unwrap();
    let unique_seen: HashSet<_> = seen.iter().collect();
    assert_eq!(unique_seen.len(), seen.len(), "no client listed twice: {seen:?}");
    for i in 0..4 {
        assert!(seen.contains(&format!("{owner}-a{i}")), "a client that existed before listing is never skipped");
    }
}

#[test]
fn dynamic_registration_is_off_by_default() {
    let s = shared();
    let (status, body) = json_of(s.client().post(s.url("/oauth2/register")).json(&json!({})).send().unwrap());
    assert_eq!(status, 404);
    assert_eq!(body["error"], "The requested resource could not be found");
    assert_eq!(body["error_description"], "Dynamic registration is not enabled.");
    assert_eq!(s.client().get(s.url("/oauth2/register/x")).send().unwrap().status(), 404);
}

#[test]
fn dynamic_registration_create_read_update_delete() {
    let s = Server::start(&[("OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED", "true")]);
    let (_, doc) = json_of(s.client().get(s.url("/.well-known/openid-configuration")).send().unwrap());
    assert_eq!(doc["registration_endpoint"], s.url("/oauth2/register"));

    // Fields only the admin API may set are refused, and so is a chosen secret.
    for (body, code) in [
        (json!({"metadata": {"a": 1}}), "invalid_client_metadata"),
        (json!({"access_token_strategy": "jwt"}), "invalid_client_metadata"),
        (json!({"skip_consent": true}), "invalid_request"),
        (json!({"skip_logout_consent": true}), "invalid_request"),
        (json!({"client_secret": "my-own-secret"}), "The request was malformed or contained invalid parameters"),
    ] {
        let (status, resp) = json_of(s.client().post(s.url("/oauth2/register")).json(&body).send().unwrap());
        assert_eq!(status, 400, "{body}: {resp}");
        assert_eq!(resp["error"], code, "{body}: {resp}");
    }
    assert_eq!(s.d1("SELECT COUNT(*) AS n FROM clients")[0]["n"], 0);

    let r = s.client().post(s.url("/oauth2/register"))
        .json(&json!({"client_id": "chosen-id-is-ignored", "client_name": "dcr", "redirect_uris": ["https://dcr.example/cb"], "skip_logout_consent": false}))
        .send().unwrap();
    assert_eq!(r.status(), 201);
    let (_, created) = json_of(r);
    let id = created["client_id"].as_str().unwrap().to_string();
    assert_ne!(id, "chosen-id-is-ignored");
    assert_eq!(id.len(), 36);
    assert!(created["client_secret"].is_string());
    // OpenID Connect Dynamic Registration §2: RS256 ID tokens unless the registrant names one.
    assert_eq!(created["id_token_signed_response_alg"], "RS256", "{created}");
    let rat = created["registration_access_token"].as_str().unwrap().to_string();
    assert_eq!(created["registration_client_uri"], s.url(&format!("/oauth2/register/{id}")));
    let uri = format!("/oauth2/register/{id}");

    // Management needs the registration access token.
    assert_eq!(s.client().get(s.url(&uri)).send().unwrap().status(), 401);
    assert_eq!(s.client().get(s.url(&uri)).bearer_auth("ory_at_forged.token").send().unwrap().status(), 401);
    assert_eq!(s.client().get(s.url(&uri)).bearer_auth(common::ADMIN_TOKEN).send().unwrap().status(), 401);
    let (status, read) = json_of(s.client().get(s.url(&uri)).bearer_auth(&rat).send().unwrap());
    assert_eq!(status, 200);
    assert_eq!(read["client_name"], "dcr");
    assert!(read.get("client_secret").is_none());

    // Another client's token does not work here.
    let (_, other) = json_of(s.client().post(s.url("/oauth2/register")).json(&json!({})).send().unwrap());
    let other_rat = other["registration_access_token"].as_str().unwrap();
    assert_eq!(s.client().get(s.url(&uri)).bearer_auth(other_rat).send().unwrap().status(), 401);

    // PUT rotates the token; a chosen secret is forbidden.
    let (status, _) = json_of(
        s.client().put(s.url(&uri)).bearer_auth(&rat).json(&json!({"client_secret": "abcdefgh"})).send().unwrap(),
    );
    assert_eq!(status, 403);
    let (status, updated) = json_of(
        s.client()
            .put(s.url(&uri))
            .bearer_auth(&rat)
            .json(&json!({"client_name": "renamed", "redirect_uris": ["https://dcr.example/cb2"]}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["client_name"], "renamed");
    assert_eq!(updated["id_token_signed_response_alg"], "RS256", "an update without it keeps it");
    let new_rat = updated["registration_access_token"].as_str().unwrap().to_string();
    assert_ne!(new_rat, rat);
    assert_eq!(s.client().get(s.url(&uri)).bearer_auth(&rat).send().unwrap().status(), 401, "old token revoked");
    assert_eq!(s.client().get(s.url(&uri)).bearer_auth(&new_rat).send().unwrap().status(), 200);
    // The token is stored only as its signature.
    let row = s.d1(&format!("SELECT registration_token_sig FROM clients WHERE id = '{id}'"));
    assert!(!new_rat.is_empty() && !row[0].to_string().contains(&new_rat));

    assert_eq!(s.client().delete(s.url(&uri)).bearer_auth(&rat).send().unwrap().status(), 401);
    assert_eq!(s.client().delete(s.url(&uri)).bearer_auth(&new_rat).send().unwrap().status(), 204);
    assert_eq!(s.admin_get(&format!("/admin/clients/{id}")).0, 404);
}

#[test]
fn admin_client_routes_require_the_token() {
    let s = shared();
    let id = unique("noauth");
    for (method, path) in [
        (Method::GET, "/admin/clients".to_string()),
        (Method::POST, "/admin/clients".to_string()),
        (Method::DELETE, format!("/admin/clients/{id}")),
        (Method::PUT, format!("/admin/clients/{id}/lifespans")),
    ] {
        let (status, body) =
            json_of(s.client().request(method, s.url(&path)).json(&json!({"client_id": id})).send().unwrap());
        assert_eq!(status, 401, "{path}");
        assert_admin_error(&body, 401);
    }
    assert_eq!(get(s, &id).0, 404);
}

/// Clients written before unset lists were answered `[]` hold `null` in D1 (and in KV and sealed
/// challenges): they still read, list and answer `[]`.
#[test]
fn clients_stored_with_null_lists_still_read() {
    let s = shared();
    let id = unique("old-format");
    create(s, &json!({"client_id": id, "owner": id}));
    s.d1(&format!(
        "UPDATE clients SET data = json_set(data, '$.redirect_uris', json('null'), '$.grant_types', json('null'), \
         '$.response_types', json('null'), '$.contacts', json('null'), '$.skip_logout_consent', json('null')) WHERE id = '{id}'"
    ));
    assert!(stored_row(s, &id)["data"].as_str().unwrap().contains(r#""contacts":null"#), "the old format is stored");
    let (status, got) = get(s, &id);
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        (&got["contacts"], &got["redirect_uris"], &got["skip_logout_consent"]),
        (&json!([]), &json!([]), &json!(false))
    );
    let (status, listed) = s.admin_get(&format!("/admin/clients?owner={id}"));
    assert_eq!((status, listed[0]["client_id"].as_str()), (200, Some(id.as_str())), "{listed}");
}
