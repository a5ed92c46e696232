//! Property tests of the parsers that take hostile input (host only, no server): forms,
//! redirect-URI matching and the URLs the server fetches, durations, JSON Patch, JWTs, scope
//! tokens and CORS origin patterns. For any input: no panic, and nothing malformed accepted.

use hydra_edge::authorize::response::match_redirect_uri;
use hydra_edge::authorize::scope::{is_scope_token, scope_allowed};
use hydra_edge::clients::admin::{apply_patch, parse_patch};
use hydra_edge::clients::model::Client;
use hydra_edge::clients::validate::{self, check_redirect_uri, Origin};
use hydra_edge::config::{Config, ScopeStrategy};
use hydra_edge::crypto::jws;
use hydra_edge::http::form::{self, Form, FormError};
use hydra_edge::http::outbound;
use hydra_edge::{cors, duration};
use proptest::prelude::*;
use serde_json::{json, Value};

fn config() -> Config {
    Config::from_lookup(|name| match name {
        "URLS_SELF_ISSUER" => Some("https://auth.example.com".into()),
        "SECRETS_SYSTEM" => Some("a-very-long-system-secret".into()),
        _ => None,
    })
    .unwrap()
}

/// Bytes that look like form input: mostly separators, escapes and hex digits.
fn formish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b'&'),
            Just(b'='),
            Just(b'%'),
            Just(b'+'),
            prop::sample::select(b"0123456789abcdefABCDEFGxz".to_vec()),
            any::<u8>(),
        ],
        0..64,
    )
}

/// Strings that look like URIs a client might present.
fn uriish() -> impl Strategy<Value = String> {
    let parts = prop::sample::select(vec![
        "http://",
        "https://",
        "127.0.0.1",
        "[::1]",
        "localhost",
        "rp.example",
        "evil.example",
        ":",
        "@",
        "/",
        "cb",
        "?",
        "x=1",
        "#",
        "%2F",
        "%40",
        "\\",
        ".",
        "..",
        "0",
        "7000",
        "65536",
        "0x7f",
        "[",
        "]",
        " ",
        "%00",
        "é",
    ]);
    prop::collection::vec(parts, 1..10).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    // --- Forms ----------------------------------------------------------------------------------

    #[test]
    fn forms_never_panic_and_never_yield_control_characters(input in formish()) {
        if let Ok(f) = Form::parse(&input) {
            for (k, v) in f.pairs() {
                prop_assert!(!k.chars().any(char::is_control) && !v.chars().any(char::is_control));
            }
            // What parsed re-encodes to the same pairs.
            let again = Form::parse(f.encode().as_bytes()).unwrap();
            prop_assert_eq!(again.pairs(), f.pairs());
        }
    }

    #[test]
    fn malformed_escapes_are_always_refused(prefix in "[a-z=&]{0,8}", bad in "%([G-Zg-z][0-9a-z]|[0-9a-fA-F][G-Zg-z]|[0-9a-fA-F]?)", rest in "[a-z=&]{0,8}") {
        // A lone or half escape is malformed only at the end; elsewhere the next byte decides.
        let input = if bad.len() < 3 { format!("{prefix}{bad}") } else { format!("{prefix}{bad}{rest}") };
        prop_assert_eq!(Form::parse(input.as_bytes()).unwrap_err(), FormError::MalformedEscape);
    }

    #[test]
    fn decoding_inverts_encoding_for_text_without_controls(s in "\\PC{0,40}") {
        let encoded: String = form_urlencoded::byte_serialize(s.as_bytes()).collect();
        prop_assert_eq!(form::decode(encoded.as_bytes()).unwrap(), s);
    }

    #[test]
    fn duplicates_of_a_parameter_are_refused(name in "[a-z_]{1,12}", a in "[a-z0-9]{0,8}", b in "[a-z0-9]{0,8}") {
        let f = Form::parse(format!("{name}={a}&{name}={b}").as_bytes()).unwrap();
        prop_assert_eq!(f.get(&name).unwrap_err(), FormError::Duplicate(name.clone()));
    }

    // --- Redirect URIs and the URLs the server fetches -------------------------------------------

    #[test]
    fn redirect_matching_only_ever_answers_a_registered_uri_or_its_port_twin(presented in uriish()) {
        let registered = vec![
            "https://rp.example/cb".to_string(),
            "http://127.0.0.1:7000/cb".to_string(),
            "http://[::1]/cb?x=1".to_string(),
        ];
        if let Some(uri) = match_redirect_uri(&registered, &presented) {
            if !registered.contains(&uri) {
                // The loopback exception: the same URI but for the port, on the literal host.
                let u = url::Url::parse(&uri).unwrap();
                prop_assert_eq!(u.scheme(), "http");
                prop_assert!(u.username().is_empty() && u.password().is_none());
                prop_assert!(matches!(u.host_str(), Some("127.0.0.1") | Some("[::1]")));
                let strip = |s: &str| {
                    let u = url::Url::parse(s).unwrap();
                    format!("{}{}", u.host_str().unwrap(), &u[url::Position::BeforePath..])
                };
                prop_assert!(registered.iter().any(|r| r.starts_with("http://") && strip(r) == strip(&uri)));
                prop_assert_eq!(&uri, &presented, "only the port varies, so the answer is what was sent");
            }
        }
    }

    #[test]
    fn redirect_registration_never_panics_and_refuses_fragments(uri in uriish()) {
        if check_redirect_uri(&uri).is_ok() {
            prop_assert!(!uri.contains('#') && uri.bytes().all(|b| b.is_ascii_graphic()));
        }
    }

    #[test]
    fn fetch_targets_are_never_private_addresses(a in any::<u8>(), b in any::<u8>(), c in any::<u8>(), d in any::<u8>(), v6 in any::<[u16; 8]>()) {
        let v4 = std::net::Ipv4Addr::new(a, b, c, d);
        let url = hydra_edge::http::url::Url::parse(&format!("https://{v4}/jwks")).unwrap();
        if outbound::check(&url, false).is_ok() {
            prop_assert!(!(v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast()));
        }
        let v6 = std::net::Ipv6Addr::from(v6);
        let url = hydra_edge::http::url::Url::parse(&format!("https://[{v6}]/jwks")).unwrap();
        if outbound::check(&url, false).is_ok() {
            prop_assert!(!(v6.is_loopback() || v6.is_unspecified() || v6.is_multicast()));
            prop_assert!((v6.segments()[0] & 0xfe00) != 0xfc00 && (v6.segments()[0] & 0xffc0) != 0xfe80);
            if let Some(inner) = v6.to_ipv4_mapped() {
                prop_assert!(!(inner.is_private() || inner.is_loopback() || inner.is_link_local()));
            }
        }
    }

    #[test]
    fn fetch_target_checks_never_panic(s in uriish()) {
        if let Ok(u) = hydra_edge::http::url::Url::parse(&s) {
            let _ = outbound::check(&u, true);
            let _ = outbound::check(&u, false);
        }
    }

    // --- Durations -----------------------------------------------------------------------------

    #[test]
    fn durations_never_panic_and_round_trip(s in "([0-9]{1,6}(\\.[0-9]{1,3})?(ns|us|µs|ms|s|m|h)){0,4}[a-z0-9.µ]{0,3}") {
        if let Some(ns) = duration::parse(&s) {
            prop_assert!(ns >= 0);
            prop_assert_eq!(duration::parse(&duration::format(ns)), Some(ns));
        }
    }

    #[test]
    fn formatted_durations_parse_back(ns in 0i64..=i64::MAX / 2) {
        prop_assert_eq!(duration::parse(&duration::format(ns)), Some(ns));
    }

    #[test]
    fn only_hydras_duration_pattern_parses(s in prop_oneof!["\\PC{0,12}", "[0-9.µnsuhm ]{0,12}"]) {
        if duration::parse(&s).is_some() {
            prop_assert!(matches_duration_pattern(&s), "{:?}", s);
        }
    }

    // --- Scope tokens and CORS origin patterns ----------------------------------------------------

    #[test]
    fn wildcards_cover_only_scope_tokens(suffix in "\\PC{0,12}") {
        let scope = format!("photos.{suffix}");
        if scope_allowed(ScopeStrategy::Wildcard, &["photos.*", "*"], &scope) {
            prop_assert!(is_scope_token(&scope));
        }
    }

    #[test]
    fn origin_patterns_never_panic_and_wildcards_stay_in_one_label(pattern in "https?://[a-z.]{0,6}\\*?[a-z.]{0,6}(:[0-9]{1,4})?", origin in "https?://[a-z.]{0,16}") {
        if cors::pattern_matches(&pattern, &origin) && pattern.contains('*') && !pattern.ends_with("://*") {
            // The wildcard's label: what the origin has in its place holds no dot.
            let (head, tail) = pattern.split_once('*').unwrap();
            let middle = &origin[head.len()..origin.len() - tail.len()];
            prop_assert!(!middle.contains('.'), "{} matched {} with {:?}", pattern, origin, middle);
        }
    }

    // --- JSON Patch ------------------------------------------------------------------------------

    #[test]
    fn json_patches_never_panic_and_never_yield_an_invalid_client(ops in patch_document()) {
        let cfg = config();
        let mut current = Client { client_id: "patched".into(), redirect_uris: Some(vec!["https://rp.example/cb".into()]), ..Default::default() };
        validate::validate(&cfg, &mut current, Origin::Admin).unwrap();
        let Ok(ops) = parse_patch(ops) else { return Ok(()) };
        let Ok((mut next, _secret)) = apply_patch(&current, &ops) else { return Ok(()) };
        next.client_id = current.client_id.clone();
        if validate::validate(&cfg, &mut next, Origin::Admin).is_ok() {
            // What was accepted is stable: stored, read back and validated again, it is the same.
            let mut again = Client::from_json(serde_json::to_value(&next).unwrap()).unwrap();
            prop_assert!(validate::validate(&cfg, &mut again, Origin::Admin).is_ok());
            prop_assert_eq!(again, next);
        }
    }

    // --- JWTs ------------------------------------------------------------------------------------

    #[test]
    fn jwt_parsing_never_panics_and_returns_only_signed_objects(token in jwtish()) {
        if let Some(p) = jws::parse(&token) {
            prop_assert!(p.header.is_object() && p.claims.is_object());
            prop_assert!(!p.signature.is_empty());
            prop_assert_eq!(token.matches('.').count(), 2);
            prop_assert!(token.starts_with(&p.signing_input));
        }
    }
}

/// Hydra's duration pattern `^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$`, without a regex crate.
fn matches_duration_pattern(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        if let Some(r) = rest.strip_prefix('.') {
            let frac = r.bytes().take_while(u8::is_ascii_digit).count();
            if frac == 0 {
                return false;
            }
            rest = &r[frac..];
        }
        let unit = ["ns", "us", "µs", "ms", "h", "m", "s"].iter().find(|u| rest.starts_with(**u));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

/// JSON Patch documents: a few operations on the client's fields, with values of every type.
fn patch_document() -> impl Strategy<Value = Value> {
    let path = prop::sample::select(vec![
        "/scope",
        "/redirect_uris",
        "/redirect_uris/0",
        "/redirect_uris/-",
        "/jwks",
        "/jwks_uri",
        "/client_secret",
        "/token_endpoint_auth_method",
        "/grant_types",
        "/metadata",
        "/metadata/a",
        "/audience/-",
        "/client_id",
        "",
        "/no/such",
        "/allowed_cors_origins/-",
        "/authorization_code_grant_access_token_lifespan",
        "/subject_type",
    ]);
    let value = prop_oneof![
        Just(json!(null)),
        Just(json!(true)),
        Just(json!(7)),
        Just(json!("https://evil.example/cb")),
        Just(json!("http://rp.example/cb")),
        Just(json!("private_key_jwt")),
        Just(json!("openid *")),
        Just(json!("1h")),
        Just(json!("forever")),
        Just(json!(["https://rp.example/cb"])),
        Just(json!({"keys": []})),
        Just(json!({})),
        "\\PC{0,10}".prop_map(Value::String),
    ];
    let op = (
        prop::sample::select(vec!["add", "remove", "replace", "move", "copy", "test", "bogus"]),
        path.clone(),
        path,
        value,
    )
        .prop_map(|(op, p, from, v)| json!({"op": op, "path": p, "from": from, "value": v}));
    prop_oneof![prop::collection::vec(op, 0..4).prop_map(Value::Array), Just(json!({"op": "add"})), Just(json!("x"))]
}

/// Strings shaped like compact JWS: base64url-ish segments and dots, sometimes real JSON.
fn jwtish() -> impl Strategy<Value = String> {
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let segment = prop_oneof![
        "[A-Za-z0-9_=+/-]{0,24}",
        Just(b64(&json!({"alg": "ES256", "kid": "k"}))),
        Just(b64(&json!({"alg": "none"}))),
        Just(b64(&json!({"sub": "x", "exp": 1}))),
        Just(b64(&json!([1, 2]))),
        Just(b64(&json!("string"))),
    ];
    prop::collection::vec(segment, 1..6).prop_map(|v| v.join("."))
}
