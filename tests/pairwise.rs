//! Pairwise subject identifiers (OpenID Connect Core §8.1, Hydra's `subject_type: pairwise`) on
//! a server configured for them: the `sub` each sector sees, where the real subject stays, the
//! login app's `force_subject_identifier`, `id_token_hint`s carrying pairwise values, and the
//! `sector_identifier_uri` document a client must publish.

mod common;

use std::sync::OnceLock;

use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use common::oauth::{
    accept_consent, accept_login, location, param, run_flow, to_consent, to_login, Rp, REDIRECT, VERIFIER,
};
use common::stub::Stub;
use common::tokens::{decode_part, introspect, refresh, tokens_via_flow};
use common::{json_of, unique, Server};

const SALT: &str = "e2e-pairwise-salt";

fn server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        Server::start(&[
            ("OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES", "public,pairwise"),
            ("OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT", SALT),
            ("OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED", "true"),
        ])
    })
}

fn stub() -> &'static Stub {
    static S: OnceLock<Stub> = OnceLock::new();
    S.get_or_init(Stub::start)
}

/// Hydra's formula, computed independently: hex(SHA-256(sector ‖ subject ‖ salt)).
fn expected(sector: &str, subject: &str) -> String {
    let mut h = Sha256::new();
    h.update(sector.as_bytes());
    h.update(subject.as_bytes());
    h.update(SALT.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn userinfo(s: &Server, access_token: &str) -> Value {
    let (status, body) = json_of(s.client().get(s.url("/userinfo")).bearer_auth(access_token).send().unwrap());
    assert_eq!(status, 200, "{body}");
    body
}

/// The login app accepts `login` with `body`, the consent app grants `openid`: where the
/// browser lands at the client.
fn login_and_consent(s: &Server, browser: &reqwest::blocking::Client, login: &str, body: &Value) -> String {
    let r = accept_login(s, login, body);
    let consent = to_consent(browser, &r);
    let r = accept_consent(s, &consent, &json!({"grant_scope": ["openid"]}));
    location(&browser.get(&r).send().unwrap())
}

/// A pairwise client whose only redirect URI is `REDIRECT` (sector `rp.example`).
fn pairwise_rp(s: &Server) -> Rp<'_> {
    Rp::register(s, json!({"subject_type": "pairwise", "redirect_uris": [REDIRECT]}))
}

#[test]
fn each_sector_sees_its_own_sub_and_introspection_keeps_the_subject() {
    let s = server();
    let doc = s.client().get(s.url("/.well-known/openid-configuration")).send().unwrap().json::<Value>().unwrap();
    assert_eq!(doc["subject_types_supported"], json!(["public", "pairwise"]));

    // Sector by document: both redirect URIs (two hosts) are listed in it.
    stub().set("sector-a", json!([REDIRECT, "http://127.0.0.1:7000/cb", "https://other.example/"]));
    let sector_uri = stub().url("/doc/sector-a");
    let by_document = Rp::register(s, json!({"subject_type": "pairwise", "sector_identifier_uri": sector_uri}));
    assert_eq!(by_document.client["subject_type"], "pairwise");
    assert_eq!(by_document.client["sector_identifier_uri"], sector_uri.as_str());
    let by_host = pairwise_rp(s);
    let by_host_too = pairwise_rp(s);
    let public = Rp::register(s, json!({}));
    assert_eq!(public.client["subject_type"], "public");

    let subject = unique("alice");
    let mut seen = Vec::new();
    for (rp, sub) in [
        (&by_document, expected(&sector_uri, &subject)),
        (&by_host, expected("rp.example", &subject)),
        (&by_host_too, expected("rp.example", &subject)),
        (&public, subject.clone()),
    ] {
        let tokens = tokens_via_flow(rp, &subject, "openid offline_access");
        let id_token = decode_part(tokens["id_token"].as_str().unwrap(), 1);
        assert_eq!(id_token["sub"], sub.as_str(), "ID token of {}", rp.id);
        assert_eq!(userinfo(s, tokens["access_token"].as_str().unwrap())["sub"], sub.as_str());

        // Introspection is for resource servers: the real subject, the pairwise one beside it.
        let i = introspect(s, tokens["access_token"].as_str().unwrap(), None);
        assert_eq!(i["sub"], subject.as_str(), "{i}");
        if sub == subject {
            assert!(i.get("obfuscated_subject").is_none(), "{i}");
        } else {
            assert_eq!(i["obfuscated_subject"], sub.as_str(), "{i}");
        }

        // A refresh keeps the client's view.
        let (status, refreshed) = refresh(rp, tokens["refresh_token"].as_str().unwrap(), &[]);
        assert_eq!(status, 200, "{refreshed}");
        assert_eq!(decode_part(refreshed["id_token"].as_str().unwrap(), 1)["sub"], sub.as_str());
        seen.push(sub);
    }
    assert_ne!(seen[0], seen[1], "different sectors, different values");
    assert_eq!(seen[1], seen[2], "one sector, one value");

    // The admin API speaks of the real subject.
    let (status, sessions) = s.admin_get(&format!("/admin/oauth2/auth/sessions/consent?subject={subject}"));
    assert_eq!(status, 200, "{sessions}");
    assert_eq!(sessions.as_array().unwrap().len(), 4, "{sessions}");
}

#[test]
fn a_forced_identifier_is_used_and_a_hint_carrying_it_finds_the_session() {
    let s = server();
    let rp = pairwise_rp(s);
    let subject = unique("bob");
    let forced = unique("forced");
    let browser = s.browser();

    // The login app forces the identifier.
    let login = to_login(&browser, &rp.auth_url(&[]));
    let r = accept_login(
        s,
        &login,
        &json!({"subject": subject, "remember": true, "remember_for": 3600, "force_subject_identifier": forced}),
    );
    let consent = to_consent(&browser, &r);
    let r = accept_consent(s, &consent, &json!({"grant_scope": ["openid", "offline_access"], "remember": true}));
    let r = browser.get(&r).send().unwrap();
    let code = param(&location(&r), "code").unwrap();
    let (status, tokens, _) = rp.exchange(&code, VERIFIER);
    assert_eq!(status, 200, "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap().to_string();
    assert_eq!(decode_part(&id_token, 1)["sub"], forced.as_str());
    assert_eq!(userinfo(s, tokens["access_token"].as_str().unwrap())["sub"], forced.as_str());
    assert_eq!(introspect(s, tokens["access_token"].as_str().unwrap(), None)["obfuscated_subject"], forced.as_str());

    // Later, the client sends that ID token as a hint: it names the user of the browser's
    // session, so the login is skipped.
    let login = to_login(&browser, &rp.auth_url(&[("id_token_hint", &id_token)]));
    let (_, request) = s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={login}"));
    assert_eq!(request["skip"], true, "{request}");
    assert_eq!(request["subject"], subject.as_str(), "the login app sees the real subject");
    // The login app computes the forced value again, as Hydra documents it must.
    let to = login_and_consent(s, &browser, &login, &json!({"subject": subject, "force_subject_identifier": forced}));
    assert!(param(&to, "code").is_some(), "{to}");

    // If it does not, the hint names someone else than the login's identifier: login_required.
    let login = to_login(&browser, &rp.auth_url(&[("id_token_hint", &id_token)]));
    let r = accept_login(s, &login, &json!({"subject": subject}));
    let r = browser.get(&r).send().unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("login_required"), "{}", location(&r));
}

#[test]
fn hints_with_pairwise_values_match_only_their_user() {
    let s = server();
    let rp = pairwise_rp(s);
    let alice = unique("alice");
    let browser = s.browser();
    let r = run_flow(&rp, &browser, &rp.auth_url(&[]), &alice);
    let code = param(&location(&r), "code").unwrap();
    let (_, tokens, _) = rp.exchange(&code, VERIFIER);
    let id_token = tokens["id_token"].as_str().unwrap().to_string();
    assert_eq!(decode_part(&id_token, 1)["sub"], expected("rp.example", &alice).as_str());

    // prompt=none with the pairwise hint: the session is alice's, the login is skipped.
    let login = to_login(&browser, &rp.auth_url(&[("prompt", "none"), ("id_token_hint", &id_token)]));
    let to = login_and_consent(s, &browser, &login, &json!({"subject": alice}));
    assert!(param(&to, "code").is_some(), "{to}");

    // The real subject is no hint for a pairwise client (Hydra's rule): were it accepted, the
    // client could test whose pairwise value it holds with another client's ID token.
    let public = Rp::register(s, json!({}));
    let r = run_flow(&public, &browser, &public.auth_url(&[]), &alice);
    let (_, public_tokens, _) = public.exchange(&param(&location(&r), "code").unwrap(), VERIFIER);
    let alice_hint = public_tokens["id_token"].as_str().unwrap();
    assert_eq!(decode_part(alice_hint, 1)["sub"], alice.as_str());
    let r = browser.get(rp.auth_url(&[("prompt", "none"), ("id_token_hint", alice_hint)])).send().unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("login_required"), "{}", location(&r));

    // Another browser, logged in as mallory, gets login_required for alice's hint.
    let other = s.browser();
    let mallory = unique("mallory");
    run_flow(&rp, &other, &rp.auth_url(&[]), &mallory);
    let r = other.get(rp.auth_url(&[("prompt", "none"), ("id_token_hint", &id_token)])).send().unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("login_required"), "{}", location(&r));
    // And a fresh login as mallory under alice's hint is refused at the verifier.
    let login = to_login(&other, &rp.auth_url(&[("prompt", "login"), ("id_token_hint", &id_token)]));
    let r = accept_login(s, &login, &json!({"subject": mallory}));
    let r = other.get(&r).send().unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("login_required"), "{}", location(&r));
}

#[test]
fn bad_sector_documents_and_pairwise_misfits_are_refused_and_store_nothing() {
    let s = server();
    stub().set("lists-one", json!([REDIRECT]));
    stub().set("not-a-list", json!({"redirect_uris": [REDIRECT]}));
    stub().set("empty", json!([]));
    let two_hosts = json!([REDIRECT, "https://app.example/cb"]);
    let cases = [
        (
            json!({"sector_identifier_uri": stub().url("/doc/lists-one"), "redirect_uris": two_hosts}),
            "https://app.example/cb",
        ),
        (json!({"sector_identifier_uri": stub().url("/doc/not-a-list")}), "JSON array"),
        (json!({"sector_identifier_uri": stub().url("/doc/empty")}), "no URI"),
        (json!({"sector_identifier_uri": stub().url("/doc/missing")}), "HTTP 404"),
        (json!({"sector_identifier_uri": stub().url("/redirect/lists-one")}), "HTTP 302"),
        (json!({"sector_identifier_uri": stub().url("/fail")}), "HTTP 500"),
        // An endless body is cut off (the fetch reads at most 64 KiB), not waited for.
        (json!({"sector_identifier_uri": stub().url("/huge")}), "Field sector_identifier_uri"),
        (json!({"subject_type": "pairwise", "redirect_uris": two_hosts}), "different hosts"),
        // A host proves a sector only where codes go to it: not through a custom scheme (any app
        // may claim it) nor a loopback address (every native app's).
        (json!({"subject_type": "pairwise", "redirect_uris": ["evil://rp.example/cb"]}), "not https on a public host"),
        (
            json!({"subject_type": "pairwise", "redirect_uris": ["http://127.0.0.1:7000/cb"]}),
            "not https on a public host",
        ),
        (json!({"subject_type": "pairwise", "redirect_uris": ["https://10.0.0.7/cb"]}), "not https on a public host"),
        (json!({"subject_type": "pairwise", "access_token_strategy": "jwt"}), "opaque"),
        (json!({"subject_type": "secret"}), "supported: public, pairwise"),
    ];
    for (body, expect) in cases {
        let id = unique("misfit");
        let mut client = json!({"client_id": id, "redirect_uris": [REDIRECT], "subject_type": "pairwise"});
        for (k, v) in body.as_object().unwrap() {
            client[k] = v.clone();
        }
        let (status, err) = s.admin_json(Method::POST, "/admin/clients", &client);
        assert_eq!(status, 400, "{client} → {err}");
        assert_eq!(err["error"], "invalid_client_metadata", "{err}");
        let text = err.to_string();
        assert!(text.contains(expect), "expected {expect:?} in {text}");
        let (status, _) = s.admin_get(&format!("/admin/clients/{id}"));
        assert_eq!(status, 404, "nothing stored for {client}");
    }

    // A public client's document decides nothing: it is not fetched (Hydra fetches it).
    let (status, c) = s.admin_json(
        Method::POST,
        "/admin/clients",
        &json!({"redirect_uris": [REDIRECT], "sector_identifier_uri": stub().url("/doc/public-only")}),
    );
    assert_eq!((status, c["subject_type"].as_str()), (201, Some("public")), "{c}");
    assert_eq!(stub().hits("/doc/public-only"), 0);

    // An update is held to the same document: a redirect URI it does not list is refused, and
    // the stored client stays as it was.
    let rp = Rp::register(
        s,
        json!({"subject_type": "pairwise", "sector_identifier_uri": stub().url("/doc/lists-one"), "redirect_uris": [REDIRECT]}),
    );
    let mut changed = rp.client.clone();
    changed["redirect_uris"] = json!([REDIRECT, "https://app.example/cb"]);
    changed.as_object_mut().unwrap().remove("client_secret");
    let (status, err) = s.admin_json(Method::PUT, &format!("/admin/clients/{}", rp.id), &changed);
    assert_eq!(status, 400, "{err}");
    let (_, stored) = s.admin_get(&format!("/admin/clients/{}", rp.id));
    assert_eq!(stored["redirect_uris"], json!([REDIRECT]));
    assert!(stub().hits("/doc/lists-one") >= 2, "fetched at create and at update");
}

#[test]
fn a_registrant_cannot_read_another_sectors_values_through_the_device_flow() {
    let s = server();
    // The device flow never redirects, so a registered redirect URI of someone else's host would
    // be the registrant's ticket to that sector's pairwise values.
    let (status, err) = json_of(
        s.client()
            .post(s.url("/oauth2/register"))
            .json(&json!({
                "subject_type": "pairwise",
                "redirect_uris": [REDIRECT],
                "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"],
                "token_endpoint_auth_method": "none",
            }))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"], "invalid_client_metadata", "{err}");
    assert!(err.to_string().contains("device_code"), "{err}");
    // A registrant's pairwise code-flow client is fine: its codes go to its own host.
    let (status, c) = json_of(
        s.client()
            .post(s.url("/oauth2/register"))
            .json(&json!({"subject_type": "pairwise", "redirect_uris": ["https://registrant.example/cb"]}))
            .send()
            .unwrap(),
    );
    assert_eq!((status, c["subject_type"].as_str()), (201, Some("pairwise")), "{c}");
    // A document vouches for a registrant only through redirect URIs it lists.
    stub().set("registrant", json!(["https://registrant.example/cb"]));
    let (status, err) = json_of(
        s.client()
            .post(s.url("/oauth2/register"))
            .json(&json!({"subject_type": "pairwise", "sector_identifier_uri": stub().url("/doc/registrant"), "redirect_uris": []}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400, "{err}");
    assert!(err.to_string().contains("at least one"), "{err}");
    // The operator may make a pairwise device client, its sector named by a document.
    let (status, c) = s.admin_json(
        Method::POST,
        "/admin/clients",
        &json!({"subject_type": "pairwise", "sector_identifier_uri": stub().url("/doc/registrant"),
                "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"], "token_endpoint_auth_method": "none"}),
    );
    assert_eq!((status, c["subject_type"].as_str()), (201, Some("pairwise")), "{c}");
}
