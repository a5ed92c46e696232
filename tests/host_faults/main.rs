//! Fault injection: every request of a flow, with each of its storage and crypto calls failing
//! in turn, as an error (nothing happened) and as a timeout (the write landed, the answer was
//! lost). For every case the walk asserts:
//!
//! * the answer is clean: 503 `temporarily_unavailable` for a failed store (500 `server_error`
//!   allowed for crypto), as JSON or redirected to the client or the error page, or a success
//!   when the failed call was best effort (a cache). Never a panic, never another status;
//! * nothing is half-written: no token without its grant, no code or consent without its marker,
//!   no redeemed code without its tokens, no login marker without its session;
//! * a retry behaves as if the failed request never happened, or, when its single-use write did
//!   commit, is refused as a replay (with chain revocation for a code), and nothing afterwards
//!   can use what was refused.
//!
//! The walker is generic: a flow is a list of [`Step`]s, and [`walks`] lists the flows. Later
//! flows (refresh, revocation, logout, device) are one entry each there.

mod host_support;

use std::panic::{catch_unwind, AssertUnwindSafe};

use host_support::*;
use hydra_edge::crypto::{hex, sha256};
use hydra_edge::host::{CallKind, Fault};
use hydra_edge::http::Method;
use serde_json::{json, Value};

/// How the client authenticates at the token endpoint.
#[derive(Clone)]
enum ClientAuth {
    SecretBasic,
    PrivateKeyJwt(u8),
}

/// What the walk knows of one run of a flow: what earlier steps handed to later ones.
#[derive(Clone)]
struct Flow {
    rp: Rp,
    auth: ClientAuth,
    browser: Browser,
    /// Unique per run: finds this run's rows (its request URL carries it).
    state: String,
    login_challenge: String,
    session_id: String,
    login_verifier_url: String,
    consent_challenge: String,
    consent_request_id: String,
    consent_verifier_url: String,
    code: String,
    jti: String,
    tokens: Value,
    /// A replay was refused during this run (a replayed code revokes the chain).
    replayed: bool,
}

type BeforeRetry = fn(&Host, &mut Flow) -> Result<(), String>;

/// One request of a flow.
struct Step {
    name: &'static str,
    /// Send the request, from what earlier steps left in the flow.
    send: fn(&Host, &mut Flow) -> Resp,
    /// Is this the success answer? Then take what later steps need from it.
    accept: fn(&mut Flow, &Resp) -> bool,
    /// Did this step's single-use write land (read from the database)?
    committed: fn(&Host, &Flow) -> bool,
    /// Is this answer the refusal of a replay?
    replay_refusal: fn(&Resp) -> bool,
    /// Before the retry of a failed request (e.g. replay the spent client assertion first).
    before_retry: Option<BeforeRetry>,
}

/// A flow to walk: its client (registered once per walk), and its requests.
struct Walk {
    name: &'static str,
    client: fn(&Host) -> (Rp, ClientAuth),
    steps: Vec<Step>,
}

fn never(_: &Host, _: &Flow) -> bool {
    false
}
fn no_replay(_: &Resp) -> bool {
    false
}
fn refused_to_client(r: &Resp) -> bool {
    r.location().starts_with(REDIRECT) && r.param("error").as_deref() == Some("access_denied")
}

fn sql_str(s: &str) -> String {
    s.replace('\'', "''")
}

// --- The code flow's steps ----------------------------------------------------------------

fn code_flow_steps() -> Vec<Step> {
    vec![
        Step {
            name: "GET /oauth2/auth",
            send: |h, f| {
                let url = f.rp.auth_url(&[("state", &f.state)]);
                f.browser.get(h, &url)
            },
            accept: |f, r| r.param("login_challenge").map(|c| f.login_challenge = c).is_some(),
            committed: never,
            replay_refusal: no_replay,
            before_retry: None,
        },
        Step {
            name: "GET login request",
            send: |h, f| {
                h.admin_at(
                    &h.p,
                    Method::Get,
                    &format!("/admin/oauth2/auth/requests/login?login_challenge={}", f.login_challenge),
                    None,
                )
            },
            accept: |f, r| {
                r.status() == 200 && r.json()["session_id"].as_str().map(|s| f.session_id = s.to_string()).is_some()
            },
            committed: never,
            replay_refusal: no_replay,
            before_retry: None,
        },
        Step {
            name: "PUT login accept",
            send: |h, f| {
                h.accept_login(
                    &f.login_challenge,
                    &json!({"subject": "walker", "remember": true, "remember_for": 3600}),
                )
            },
            accept: |f, r| {
                r.status() == 200
                    && r.json()["redirect_to"].as_str().map(|s| f.login_verifier_url = s.to_string()).is_some()
            },
            committed: never,
            replay_refusal: no_replay,
            before_retry: None,
        },
        Step {
            name: "GET /oauth2/auth?login_verifier",
            send: |h, f| {
                let url = f.login_verifier_url.clone();
                f.browser.get(h, &url)
            },
            accept: |f, r| r.param("consent_challenge").map(|c| f.consent_challenge = c).is_some(),
            committed: |h, f| login_marker_count(h, f) > 0,
            replay_refusal: refused_to_client,
            before_retry: None,
        },
        Step {
            name: "GET consent request",
            send: |h, f| {
                h.admin_at(
                    &h.p,
                    Method::Get,
                    &format!("/admin/oauth2/auth/requests/consent?consent_challenge={}", f.consent_challenge),
                    None,
                )
            },
            accept: |f, r| {
                r.status() == 200
                    && r.json()["consent_request_id"].as_str().map(|s| f.consent_request_id = s.to_string()).is_some()
            },
            committed: never,
            replay_refusal: no_replay,
            before_retry: None,
        },
        Step {
            name: "PUT consent accept",
            send: |h, f| {
                h.accept_consent(
                    &f.consent_challenge,
                    &json!({"grant_scope": ["openid", "offline_access"], "remember": true}),
                )
            },
            accept: |f, r| {
                r.status() == 200
                    && r.json()["redirect_to"].as_str().map(|s| f.consent_verifier_url = s.to_string()).is_some()
            },
            committed: never,
            replay_refusal: no_replay,
            before_retry: None,
        },
        Step {
            name: "GET /oauth2/auth?consent_verifier",
            send: |h, f| {
                let url = f.consent_verifier_url.clone();
                f.browser.get(h, &url)
            },
            accept: |f, r| r.location().starts_with(REDIRECT) && r.param("code").map(|c| f.code = c).is_some(),
            committed: |h, f| {
                h.world.count(&format!(
                    "SELECT 1 FROM flow_markers WHERE id = 'consent:{}'",
                    sql_str(&f.consent_request_id)
                )) > 0
            },
            replay_refusal: refused_to_client,
            before_retry: None,
        },
        Step {
            name: "POST /oauth2/token",
            send: |h, f| token_request(h, f),
            accept: |f, r| {
                let ok = r.status() == 200 && r.json()["access_token"].is_string();
                if ok {
                    f.tokens = r.json();
                }
                ok
            },
            committed: |h, f| code_used(h, f),
            replay_refusal: |r| r.status() == 400 && r.json()["error"] == "invalid_grant",
            before_retry: Some(|h, f| {
                // A spent assertion (its jti landed) is refused as a replay; a client retrying
                // signs a new one (RFC 7523: one jti per assertion).
                if let ClientAuth::PrivateKeyJwt(_) = f.auth {
                    if jti_stored(h, f) {
                        let r = token_request(h, f);
                        if r.json()["error"] != "jti_known" {
                            return Err(format!("a spent client assertion must be refused as jti_known: {r}"));
                        }
                        f.jti = format!("{}-retry", f.jti);
                    }
                }
                Ok(())
            }),
        },
    ]
}

fn token_request(h: &Host, f: &Flow) -> Resp {
    match &f.auth {
        ClientAuth::SecretBasic => h.exchange(&f.rp, &f.code),
        ClientAuth::PrivateKeyJwt(seed) => {
            let assertion = AssertionKey::new(*seed).assertion(&f.rp.id, &f.jti, h.now());
            h.post_form_at(&h.p, "/oauth2/token", &assertion_exchange(&f.code, &assertion), &[])
        }
    }
}

fn login_marker_count(h: &Host, f: &Flow) -> i64 {
    h.world.count(&format!(
        "SELECT 1 FROM flow_markers WHERE id LIKE 'login:%' AND request_url LIKE '%{}%'",
        sql_str(&f.state)
    ))
}

fn code_used(h: &Host, f: &Flow) -> bool {
    !f.consent_request_id.is_empty()
        && h.world.count(&format!(
            "SELECT 1 FROM authorization_codes WHERE request_id = '{}' AND used_at IS NOT NULL",
            sql_str(&f.consent_request_id)
        )) > 0
}

fn jti_stored(h: &Host, f: &Flow) -> bool {
    let key = hex(&sha256(format!("{}\u{0}{}", f.rp.id, f.jti).as_bytes()));
    h.world.count(&format!("SELECT 1 FROM client_assertion_jtis WHERE id = '{key}'")) > 0
}

/// A new run of a flow for a client.
fn new_flow((rp, auth): &(Rp, ClientAuth)) -> Flow {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let (rp, auth) = (rp.clone(), auth.clone());
    Flow {
        rp,
        auth,
        browser: Browser::default(),
        state: format!("walk-state-{n:06}"),
        login_challenge: String::new(),
        session_id: String::new(),
        login_verifier_url: String::new(),
        consent_challenge: String::new(),
        consent_request_id: String::new(),
        consent_verifier_url: String::new(),
        code: String::new(),
        jti: format!("walk-jti-{n:06}"),
        tokens: Value::Null,
        replayed: false,
    }
}

/// The flows the walk covers.
fn walks() -> Vec<Walk> {
    vec![
        Walk {
            name: "code flow, client_secret_basic",
            client: |h| (h.register(json!({})), ClientAuth::SecretBasic),
            steps: code_flow_steps(),
        },
        Walk {
            name: "code flow, private_key_jwt",
            client: |h| {
                let k = AssertionKey::new(7);
                let rp = h.register(json!({"token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "ES256", "jwks": {"keys": [k.jwk]}}));
                (rp, ClientAuth::PrivateKeyJwt(7))
            },
            steps: code_flow_steps(),
        },
        // TODO(issue 9, refresh): a walk whose setup runs the code flow to its tokens and whose
        // steps are `POST /oauth2/token grant_type=refresh_token` (committed: the old refresh
        // token is inactive; replay refusal: invalid_grant outside the grace period, with the
        // chain revoked) and a second refresh with the new token.
        // TODO(issue 9, revocation): steps `POST /oauth2/revoke` (committed: the token's rows are
        // gone; a retry is 200 as well, revocation being idempotent) and introspection of the
        // revoked token (`active: false`).
        // TODO(issue 10, logout): steps `GET /oauth2/sessions/logout`, the logout request and its
        // acceptance, and the browser's return with `logout_verifier` (committed: the login
        // session is gone; replay refusal: the verifier is used).
        // TODO(issue 10, device): steps `POST /oauth2/device/auth`, the user-code verification,
        // login and consent, and the polling `POST /oauth2/token` with the device code
        // (committed: the device code is redeemed; replay refusal: invalid_grant).
    ]
}

// --- Invariants ---------------------------------------------------------------------------

/// Rows that must never exist, whatever failed when.
const ORPHANS: &[(&str, &str)] = &[
    ("a token without its grant", "SELECT signature FROM tokens t WHERE NOT EXISTS (SELECT 1 FROM consent_sessions c WHERE c.id = t.request_id)"),
    ("a code without its consent", "SELECT signature FROM authorization_codes a WHERE NOT EXISTS (SELECT 1 FROM consent_sessions c WHERE c.id = a.request_id)"),
    ("a consent without its marker", "SELECT id FROM consent_sessions c WHERE NOT EXISTS (SELECT 1 FROM flow_markers m WHERE m.id = 'consent:' || c.id)"),
    ("a consent marker without its consent", "SELECT id FROM flow_markers m WHERE m.id LIKE 'consent:%' AND NOT EXISTS (SELECT 1 FROM consent_sessions c WHERE 'consent:' || c.id = m.id)"),
    ("a consent marker without its code", "SELECT id FROM flow_markers m WHERE m.id LIKE 'consent:%' AND NOT EXISTS (SELECT 1 FROM authorization_codes a WHERE 'consent:' || a.request_id = m.id)"),
];

fn check_state(h: &Host, f: &Flow) -> Result<(), String> {
    for (what, sql) in ORPHANS {
        let n = h.world.count(sql);
        if n != 0 {
            return Err(format!("{n} × {what}"));
        }
    }
    if login_marker_count(h, f) > 0
        && !f.session_id.is_empty()
        && h.world.count(&format!("SELECT 1 FROM login_sessions WHERE id = '{}'", sql_str(&f.session_id))) == 0
    {
        return Err("a login marker without its session".into());
    }
    if !f.consent_request_id.is_empty() {
        let tokens =
            h.world.count(&format!("SELECT 1 FROM tokens WHERE request_id = '{}'", sql_str(&f.consent_request_id)));
        let used = code_used(h, f);
        if used && tokens == 0 && !f.replayed {
            return Err("a redeemed code without its tokens".into());
        }
        if tokens > 0 && !used {
            return Err("tokens from a code that is not redeemed".into());
        }
        if f.replayed && tokens > 0 {
            return Err("a replayed code left its tokens alive".into());
        }
    }
    Ok(())
}

/// A failure as a client may see it: a 5xx JSON error, or a server error delivered by redirect.
/// A failed store is always 503 `temporarily_unavailable` (retry later); a failed crypto call
/// may also be a 500 `server_error`.
fn clean_failure(r: &Resp, kind: CallKind) -> Result<(), String> {
    let server_errors: &[&str] =
        if kind.is_storage() { &["temporarily_unavailable"] } else { &["server_error", "temporarily_unavailable"] };
    match r.status() {
        500 | 503 => {
            let e = r.json()["error"].as_str().map(str::to_string).unwrap_or_default();
            if server_errors.contains(&e.as_str()) {
                Ok(())
            } else {
                Err(format!("a 5xx without a server error body: {r}"))
            }
        }
        302 | 303 => {
            let e = r.param("error").unwrap_or_default();
            if server_errors.contains(&e.as_str()) {
                Ok(())
            } else {
                Err(format!("a redirect that is neither the next step nor a server error: {r}"))
            }
        }
        _ => Err(format!("neither success nor a clean server error: {r}")),
    }
}

// --- The walk -----------------------------------------------------------------------------

/// Run `f` through steps `0..upto` without faults.
fn prefix(h: &Host, walk: &Walk, f: &mut Flow, upto: usize) {
    for step in &walk.steps[..upto] {
        let r = (step.send)(h, f);
        assert!((step.accept)(f, &r), "{}: {} failed without a fault: {r}", walk.name, step.name);
    }
}

/// Finish the flow after step `from`: every remaining step must succeed, and the tokens the
/// client got must be stored.
fn finish(h: &Host, walk: &Walk, f: &mut Flow, from: usize) -> Result<(), String> {
    for step in &walk.steps[from..] {
        let r = (step.send)(h, f);
        if !(step.accept)(f, &r) {
            return Err(format!("after the retry, {} failed: {r}", step.name));
        }
        check_state(h, f).map_err(|e| format!("after {}: {e}", step.name))?;
    }
    if let Some(at) = f.tokens["access_token"].as_str() {
        let sig = at.rsplit('.').next().unwrap_or_default();
        if h.world.count(&format!("SELECT 1 FROM tokens WHERE signature = '{}'", sql_str(sig))) != 1 {
            return Err("the access token the client holds is not stored".into());
        }
    }
    Ok(())
}

/// Caches as a busy isolate has them, or as a new isolate meets them.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// One client for the whole walk, its caches (KV, verified secret, signing keys) warm.
    Warm,
    /// A new client per step (and per case where the secret is hashed), KV emptied and the
    /// signing-key cache expired before the failing request: every cache-miss path (D1 reads,
    /// KV writes, PBKDF2) is walked too.
    Cold,
}

fn chill(h: &Host, mode: Mode) {
    if mode == Mode::Cold {
        h.world.clear_kv();
        h.world.advance_secs(31); // past SIGNING_KEY_CACHE_MS
    }
}

#[derive(Default, Debug)]
struct Tally {
    cases: usize,
    absorbed: usize,
    retried_ok: usize,
    replay_refused: usize,
}

/// One case: step `i` of `walk` with call `k` failing as `fault`.
fn case(
    h: &Host,
    walk: &Walk,
    client: &(Rp, ClientAuth),
    (i, k, fault, mode): (usize, usize, Fault, Mode),
    tally: &mut Tally,
) -> Result<(), String> {
    let step = &walk.steps[i];
    let mut f = new_flow(client);
    prefix(h, walk, &mut f, i);
    chill(h, mode);
    h.world.start_counting();
    h.world.inject(k, fault);
    let sent = catch_unwind(AssertUnwindSafe(|| (step.send)(h, &mut f)));
    h.world.clear_faults();
    let calls = h.world.calls();
    let r = sent.map_err(|_| "the handler panicked".to_string())?;
    let failed_call = calls.get(k).ok_or("the call to fail was never made")?;
    debug_assert!(failed_call.fault.is_some());
    check_state(h, &f).map_err(|e| format!("after the fault: {e}"))?;
    tally.cases += 1;
    if (step.accept)(&mut f, &r) {
        // A best-effort call failed (a cache); the request succeeded anyway.
        tally.absorbed += 1;
        return finish(h, walk, &mut f, i + 1);
    }
    // WebCrypto refusing to verify with a key (it cannot import it) is, as in Hydra, a key the
    // client's assertion cannot be checked with: invalid_client, and nothing was written.
    let refused_key = failed_call.kind == CallKind::Verify && r.json()["error"] == "invalid_client";
    if !refused_key {
        clean_failure(&r, failed_call.kind)?;
    }
    let committed = (step.committed)(h, &f);
    if let Some(prepare) = step.before_retry {
        prepare(h, &mut f)?;
    }
    let retry = (step.send)(h, &mut f);
    if (step.accept)(&mut f, &retry) {
        if committed {
            return Err(format!("the retry succeeded although the first attempt had committed: {retry}"));
        }
        tally.retried_ok += 1;
        check_state(h, &f).map_err(|e| format!("after the retry: {e}"))?;
        return finish(h, walk, &mut f, i + 1);
    }
    if committed && (step.replay_refusal)(&retry) {
        tally.replay_refused += 1;
        f.replayed = true;
        return check_state(h, &f).map_err(|e| format!("after the refused replay: {e}"));
    }
    Err(format!("the retry (first attempt committed: {committed}) answered {retry}"))
}

#[test]
fn every_call_of_every_request_can_fail_cleanly() {
    let h = Host::new();
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for walk in walks() {
        let shared = (walk.client)(&h);
        // Warm the caches with one whole run.
        let mut f = new_flow(&shared);
        prefix(&h, &walk, &mut f, walk.steps.len());
        for mode in [Mode::Warm, Mode::Cold] {
            let mut tally = Tally::default();
            for (i, step) in walk.steps.iter().enumerate() {
                let client = if mode == Mode::Warm { shared.clone() } else { (walk.client)(&h) };
                // Which calls this request makes when nothing fails.
                let mut f = new_flow(&client);
                prefix(&h, &walk, &mut f, i);
                chill(&h, mode);
                h.world.start_counting();
                let r = (step.send)(&h, &mut f);
                assert!((step.accept)(&mut f, &r), "{}: {}: {r}", walk.name, step.name);
                let calls = h.world.calls();
                // The verified-secret digest is per isolate and client: where the cold path hashes
                // the secret, each case needs a client this isolate has not verified yet.
                let per_case_client = mode == Mode::Cold && calls.iter().any(|c| c.kind == CallKind::Pbkdf2);
                for (k, call) in calls.iter().enumerate() {
                    for fault in [Fault::Error, Fault::Timeout] {
                        let client = if per_case_client { (walk.client)(&h) } else { client.clone() };
                        if let Err(e) = case(&h, &walk, &client, (i, k, fault, mode), &mut tally) {
                            failures.push(format!(
                                "{} ({mode:?}) / {} / call {k} ({:?} {}) / {fault:?}: {e}",
                                walk.name, step.name, call.kind, call.detail
                            ));
                        }
                    }
                }
                let kinds: Vec<String> = calls.iter().map(|c| format!("{:?}", c.kind)).collect();
                report.push(format!("{} ({mode:?}) / {}: {}", walk.name, step.name, kinds.join(" ")));
            }
            report.push(format!("{} ({mode:?}): {tally:?}", walk.name));
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{} failing cases:\n{}", failures.len(), failures.join("\n"));
}

/// The kinds of calls the walk makes fail include storage and crypto, so no category is
/// silently left out.
#[test]
fn the_walk_reaches_storage_and_crypto_calls() {
    let h = Host::new();
    let walk = &walks()[1];
    let mut kinds = Vec::new();
    let mut f = new_flow(&(walk.client)(&h));
    for step in &walk.steps {
        h.world.start_counting();
        let r = (step.send)(&h, &mut f);
        assert!((step.accept)(&mut f, &r));
        kinds.extend(h.world.calls().iter().map(|c| c.kind));
    }
    for k in [CallKind::Sql, CallKind::SqlBatch, CallKind::KvGet, CallKind::Verify] {
        assert!(kinds.contains(&k), "{k:?} never called: {kinds:?}");
    }
}
