//! The walker: a flow is a list of [`Step`]s (requests) run from a [`Walk`]'s setup; every
//! platform call of every step fails in turn, as an error and as a timeout whose effect
//! landed, with warm and with cold caches, and each case is checked against the invariants.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::host_support::*;
use hydra_edge::crypto::seal::Purpose;
use hydra_edge::crypto::{hex, sha256};
use hydra_edge::flow::logout::LogoutState;
use hydra_edge::flow::LoginState;
use hydra_edge::host::{CallKind, Fault};
use serde_json::Value;

/// How the client authenticates at the token endpoint.
#[derive(Clone)]
pub enum ClientAuth {
    SecretBasic,
    PrivateKeyJwt(u8),
}

/// What the walk knows of one run of a flow: what earlier steps handed to later ones.
#[derive(Clone)]
pub struct Flow {
    pub rp: Rp,
    pub auth: ClientAuth,
    pub browser: Browser,
    /// Unique per run: the authorization request's `state`, and part of the client assertion's
    /// `jti` and of the browser's address.
    pub state: String,
    pub login_challenge: String,
    pub session_id: String,
    pub login_verifier_url: String,
    pub consent_challenge: String,
    pub consent_request_id: String,
    pub consent_verifier_url: String,
    pub code: String,
    pub jti: String,
    /// The last token response.
    pub tokens: Value,
    pub access_token: String,
    pub refresh_token: String,
    /// The refresh token the last rotation replaced.
    pub rotated_refresh_token: String,
    pub id_token: String,
    /// The grant's chain was revoked (a refused replay or reuse, or a revocation): no token of
    /// it may be left.
    pub chain_revoked: bool,
    pub logout_challenge: String,
    pub logout_verifier_url: String,
    pub device_code: String,
    pub user_code: String,
    pub verification_uri_complete: String,
    pub device_challenge: String,
    pub device_verifier_url: String,
    /// Seconds a device waits between polls.
    pub interval: i64,
}

/// Before the retry of a failed request (e.g. sign a new client assertion).
pub type BeforeRetry = fn(&Host, &mut Flow) -> Result<(), String>;
/// What must hold after a success of a step; `absorbed`: a best-effort call failed on the way.
pub type Done = fn(&Host, &Flow, bool) -> Result<(), String>;

/// One request of a flow.
pub struct Step {
    pub name: &'static str,
    /// Send the request, from what earlier steps left in the flow.
    pub send: fn(&Host, &mut Flow) -> Resp,
    /// Is this the success answer? Then take what later steps need from it.
    pub accept: fn(&Host, &mut Flow, &Resp) -> bool,
    /// Did this step's single-use write land (read from the database)? `never` for steps whose
    /// writes a retry may repeat (revocation, counters).
    pub committed: fn(&Host, &Flow) -> bool,
    /// Is this answer the refusal of a replay?
    pub replay_refusal: fn(&Resp) -> bool,
    /// A refused replay of this step revokes the grant's chain (codes, refresh and device codes).
    pub replay_revokes: bool,
    /// This step's success (or its landed write) revokes the grant's chain.
    pub revokes: bool,
    pub before_retry: Option<BeforeRetry>,
    pub done: Done,
}

pub fn never(_: &Host, _: &Flow) -> bool {
    false
}
pub fn no_replay(_: &Resp) -> bool {
    false
}
fn nothing_to_check(_: &Host, _: &Flow, _: bool) -> Result<(), String> {
    Ok(())
}

impl Step {
    /// A step without a single-use write: a failure leaves nothing, a retry is a new attempt.
    pub fn new(
        name: &'static str,
        send: fn(&Host, &mut Flow) -> Resp,
        accept: fn(&Host, &mut Flow, &Resp) -> bool,
    ) -> Step {
        Step {
            name,
            send,
            accept,
            committed: never,
            replay_refusal: no_replay,
            replay_revokes: false,
            revokes: false,
            before_retry: None,
            done: nothing_to_check,
        }
    }

    /// A single-use step: `committed` reads whether its write landed; a retry after that must be
    /// refused as `refusal` says.
    pub fn single_use(mut self, committed: fn(&Host, &Flow) -> bool, refusal: fn(&Resp) -> bool) -> Step {
        self.committed = committed;
        self.replay_refusal = refusal;
        self
    }

    /// A refused replay of this step revokes the chain.
    pub fn replay_revokes(mut self) -> Step {
        self.replay_revokes = true;
        self
    }

    /// The step revokes the chain.
    pub fn revokes(mut self) -> Step {
        self.revokes = true;
        self
    }

    pub fn before_retry(mut self, f: BeforeRetry) -> Step {
        self.before_retry = Some(f);
        self
    }

    pub fn done(mut self, f: Done) -> Step {
        self.done = f;
        self
    }

    /// Accept the answer (and note a revoked chain).
    fn accepted(&self, h: &Host, f: &mut Flow, r: &Resp) -> bool {
        let ok = (self.accept)(h, f, r);
        if ok && self.revokes {
            f.chain_revoked = true;
        }
        ok
    }
}

/// A flow to walk: its client (registered once per walk, or per step with cold caches), what
/// runs before its first step (without faults), and its requests.
pub struct Walk {
    pub name: &'static str,
    pub client: fn(&Host) -> (Rp, ClientAuth),
    pub setup: fn(&Host, &mut Flow),
    pub steps: Vec<Step>,
}

pub fn no_setup(_: &Host, _: &mut Flow) {}

pub fn sql_str(s: &str) -> String {
    s.replace('\'', "''")
}

/// A new run of a flow for a client.
pub fn new_flow((rp, auth): &(Rp, ClientAuth)) -> Flow {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    // Each run is a browser of its own address (per-address rate limits count apart; an IPv6
    // address counts by its /64, so each run gets a /64 of its own).
    let ip = format!("2001:db8:{:x}:{:x}::1", (n + 1) >> 16, (n + 1) & 0xffff);
    Flow {
        rp: rp.clone(),
        auth: auth.clone(),
        browser: Browser { headers: vec![("cf-connecting-ip".into(), ip)], ..Default::default() },
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
        access_token: String::new(),
        refresh_token: String::new(),
        rotated_refresh_token: String::new(),
        id_token: String::new(),
        chain_revoked: false,
        logout_challenge: String::new(),
        logout_verifier_url: String::new(),
        device_code: String::new(),
        user_code: String::new(),
        verification_uri_complete: String::new(),
        device_challenge: String::new(),
        device_verifier_url: String::new(),
        interval: 5,
    }
}

// --- What the database says about a run ----------------------------------------------------

pub fn marker_exists(h: &Host, id: &str) -> bool {
    h.world.count(&format!("SELECT 1 FROM flow_markers WHERE id = '{}'", sql_str(id))) > 0
}

pub fn login_marker(h: &Host, f: &Flow) -> Option<String> {
    (!f.login_challenge.is_empty())
        .then(|| format!("login:{}", h.unseal::<LoginState>(Purpose::LoginChallenge, &f.login_challenge).id))
}

pub fn logout_marker(h: &Host, f: &Flow) -> Option<String> {
    (!f.logout_challenge.is_empty())
        .then(|| format!("logout:{}", h.unseal::<LogoutState>(Purpose::LogoutChallenge, &f.logout_challenge).id))
}

pub fn session_exists(h: &Host, f: &Flow) -> bool {
    h.world.count(&format!("SELECT 1 FROM login_sessions WHERE id = '{}'", sql_str(&f.session_id))) > 0
}

/// Tokens of this run's grant chain.
pub fn chain_tokens(h: &Host, f: &Flow) -> i64 {
    h.world.count(&format!("SELECT 1 FROM tokens WHERE request_id = '{}'", sql_str(&f.consent_request_id)))
}

/// Was this run's grant redeemed (its code, or its device code)?
pub fn grant_redeemed(h: &Host, f: &Flow) -> bool {
    let id = sql_str(&f.consent_request_id);
    !f.consent_request_id.is_empty()
        && h.world.count(&format!(
            "SELECT 1 FROM authorization_codes WHERE request_id = '{id}' AND used_at IS NOT NULL \
             UNION ALL SELECT 1 FROM device_codes WHERE consent_request_id = '{id}' AND state = 'used'"
        )) > 0
}

pub fn jti_stored(h: &Host, f: &Flow) -> bool {
    let key = hex(&sha256(format!("{}\u{0}{}", f.rp.id, f.jti).as_bytes()));
    h.world.count(&format!("SELECT 1 FROM client_assertion_jtis WHERE id = '{key}'")) > 0
}

/// A stored token by its opaque or JWT form: (kind, active).
pub fn stored_token(h: &Host, token: &str) -> Option<(String, bool)> {
    let rows =
        h.world.sql(&format!("SELECT kind, active FROM tokens WHERE signature = '{}'", sql_str(signature_of(token))));
    rows.first().map(|r| (r["kind"].as_str().unwrap_or("").to_string(), r["active"].as_i64() == Some(1)))
}

// --- Invariants -----------------------------------------------------------------------------

/// Rows that must never exist, whatever failed when.
const ORPHANS: &[(&str, &str)] = &[
    ("a token without its grant", "SELECT signature FROM tokens t WHERE NOT EXISTS (SELECT 1 FROM consent_sessions c WHERE c.id = t.request_id)"),
    ("a code without its consent", "SELECT signature FROM authorization_codes a WHERE NOT EXISTS (SELECT 1 FROM consent_sessions c WHERE c.id = a.request_id)"),
    ("a consent without its marker", "SELECT id FROM consent_sessions c WHERE NOT EXISTS (SELECT 1 FROM flow_markers m WHERE m.id = 'consent:' || c.id)"),
    ("a consent marker without its consent", "SELECT id FROM flow_markers m WHERE m.id LIKE 'consent:%' AND NOT EXISTS (SELECT 1 FROM consent_sessions c WHERE 'consent:' || c.id = m.id)"),
    ("a consent marker without its code or device grant", "SELECT id FROM flow_markers m WHERE m.id LIKE 'consent:%' \
      AND NOT EXISTS (SELECT 1 FROM authorization_codes a WHERE 'consent:' || a.request_id = m.id) \
      AND NOT EXISTS (SELECT 1 FROM device_codes d WHERE 'consent:' || d.consent_request_id = m.id)"),
    ("an accepted or used device code without its consent", "SELECT signature FROM device_codes d WHERE d.state IN ('accepted', 'used') \
      AND NOT EXISTS (SELECT 1 FROM consent_sessions c WHERE c.id = d.consent_request_id)"),
    ("a decided device code without its consent verifier's marker", "SELECT signature FROM device_codes d WHERE d.state IN ('accepted', 'used') \
      AND NOT EXISTS (SELECT 1 FROM flow_markers m WHERE m.id = 'consent:' || d.consent_request_id)"),
    ("a live refresh token without the access token issued with it", "SELECT signature FROM tokens r WHERE r.kind = 'refresh_token' AND r.active = 1 \
      AND NOT EXISTS (SELECT 1 FROM tokens a WHERE a.signature = r.access_signature)"),
    ("a grant without exactly one live refresh token (a half-done rotation)", "SELECT request_id FROM tokens \
      GROUP BY request_id HAVING SUM(kind = 'refresh_token') > 0 AND SUM(kind = 'refresh_token' AND active = 1) != 1"),
];

pub fn check_state(h: &Host, f: &Flow) -> Result<(), String> {
    for (what, sql) in ORPHANS {
        let n = h.world.count(sql);
        if n != 0 {
            return Err(format!("{n} × {what}"));
        }
    }
    // Markers and sessions: a redeemed login verifier wrote its session; a redeemed logout
    // verifier deleted it; neither without the other.
    let login = login_marker(h, f).is_some_and(|m| marker_exists(h, &m));
    let logout = logout_marker(h, f).is_some_and(|m| marker_exists(h, &m));
    if !f.session_id.is_empty() {
        let session = session_exists(h, f);
        if login && !logout && !session {
            return Err("a login marker without its session".into());
        }
        if logout && session {
            return Err("a logout marker whose session is still there".into());
        }
    }
    if !f.consent_request_id.is_empty() {
        let tokens = chain_tokens(h, f);
        let redeemed = grant_redeemed(h, f);
        if redeemed && tokens == 0 && !f.chain_revoked {
            return Err("a redeemed grant without its tokens".into());
        }
        if tokens > 0 && !redeemed {
            return Err("tokens of a grant that was not redeemed".into());
        }
        if f.chain_revoked && tokens > 0 {
            return Err(format!("{tokens} tokens left of a revoked chain"));
        }
    }
    Ok(())
}

/// A failure as a client may see it: a 5xx JSON error, or a server error delivered by redirect.
/// A failed store is always 503 `temporarily_unavailable` (retry later); a failed crypto call or
/// outbound request may also be a 500 `server_error`.
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

// --- The walk -------------------------------------------------------------------------------

/// Run `steps` without faults; every one must succeed and leave what its `done` says.
pub fn run_all(h: &Host, steps: &[Step], f: &mut Flow) {
    for step in steps {
        let r = (step.send)(h, f);
        assert!(step.accepted(h, f, &r), "{} failed without a fault: {r}", step.name);
        if let Err(e) = (step.done)(h, f, false).and_then(|_| check_state(h, f)) {
            panic!("{}: {e}", step.name);
        }
    }
}

/// A new run: the walk's setup, then steps `0..upto`, without faults.
fn prefix(h: &Host, walk: &Walk, client: &(Rp, ClientAuth), upto: usize) -> Flow {
    let mut f = new_flow(client);
    (walk.setup)(h, &mut f);
    run_all(h, &walk.steps[..upto], &mut f);
    f
}

/// Finish the flow after step `from`: every remaining step must succeed; the tokens the client
/// holds must be stored (unless the chain was revoked).
fn finish(h: &Host, walk: &Walk, f: &mut Flow, from: usize) -> Result<(), String> {
    for step in &walk.steps[from..] {
        let r = (step.send)(h, f);
        if !step.accepted(h, f, &r) {
            return Err(format!("after the retry, {} failed: {r}", step.name));
        }
        (step.done)(h, f, false).map_err(|e| format!("after {}: {e}", step.name))?;
        check_state(h, f).map_err(|e| format!("after {}: {e}", step.name))?;
    }
    if !f.chain_revoked && !f.access_token.is_empty() && stored_token(h, &f.access_token).is_none() {
        return Err("the access token the client holds is not stored".into());
    }
    Ok(())
}

/// Caches as a busy isolate has them, or as a new isolate meets them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
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
pub struct Tally {
    pub cases: usize,
    pub absorbed: usize,
    pub retried_ok: usize,
    pub replay_refused: usize,
}

/// One case: step `i` of `walk` with call `k` failing as `fault`.
fn case(
    h: &Host,
    walk: &Walk,
    client: &(Rp, ClientAuth),
    (i, k, measured, fault, mode): (usize, usize, CallKind, Fault, Mode),
    tally: &mut Tally,
) -> Result<(), String> {
    let step = &walk.steps[i];
    let mut f = prefix(h, walk, client, i);
    chill(h, mode);
    h.world.start_counting();
    h.world.inject(k, fault);
    let sent = catch_unwind(AssertUnwindSafe(|| (step.send)(h, &mut f)));
    h.world.clear_faults();
    let calls = h.world.calls();
    let r = sent.map_err(|_| "the handler panicked".to_string())?;
    let failed_call = calls.get(k).ok_or("the call to fail was never made")?;
    if failed_call.kind != measured {
        return Err(format!("call {k} is {:?} here, not {measured:?} as measured: {calls:?}", failed_call.kind));
    }
    if step.revokes && chain_tokens(h, &f) == 0 {
        // The revocation landed (before the fault, or as the write that timed out).
        f.chain_revoked = true;
    }
    check_state(h, &f).map_err(|e| format!("after the fault: {e}"))?;
    tally.cases += 1;
    if step.accepted(h, &mut f, &r) {
        // A best-effort call failed (a cache, a notification); the request succeeded anyway.
        tally.absorbed += 1;
        (step.done)(h, &f, true)?;
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
    if step.accepted(h, &mut f, &retry) {
        if committed {
            return Err(format!("the retry succeeded although the first attempt had committed: {retry}"));
        }
        tally.retried_ok += 1;
        (step.done)(h, &f, false).map_err(|e| format!("after the retry: {e}"))?;
        check_state(h, &f).map_err(|e| format!("after the retry: {e}"))?;
        return finish(h, walk, &mut f, i + 1);
    }
    if committed && (step.replay_refusal)(&retry) {
        tally.replay_refused += 1;
        if step.replay_revokes {
            f.chain_revoked = true;
        }
        return check_state(h, &f).map_err(|e| format!("after the refused replay: {e}"));
    }
    Err(format!("the retry (first attempt committed: {committed}) answered {retry}"))
}

/// Walk every call of every step of `walk`, warm and cold, both faults; the failing cases and a
/// report of the calls each step makes.
pub fn walk(h: &Host, walk: &Walk) -> (Vec<String>, Vec<String>) {
    let mut failures = Vec::new();
    let mut report = Vec::new();
    let shared = (walk.client)(h);
    // Warm the caches with one whole run.
    prefix(h, walk, &shared, walk.steps.len());
    for mode in [Mode::Warm, Mode::Cold] {
        let mut tally = Tally::default();
        for (i, step) in walk.steps.iter().enumerate() {
            let client = if mode == Mode::Warm { shared.clone() } else { (walk.client)(h) };
            // Which calls this request makes when nothing fails.
            let mut f = prefix(h, walk, &client, i);
            chill(h, mode);
            h.world.start_counting();
            let r = (step.send)(h, &mut f);
            assert!(step.accepted(h, &mut f, &r), "{}: {}: {r}", walk.name, step.name);
            let calls = h.world.calls();
            // The verified-secret digest is per isolate and client: where the cold path hashes
            // the secret, each case needs a client this isolate has not verified yet.
            let per_case_client = mode == Mode::Cold && calls.iter().any(|c| c.kind == CallKind::Pbkdf2);
            for (k, call) in calls.iter().enumerate() {
                for fault in [Fault::Error, Fault::Timeout] {
                    let client = if per_case_client { (walk.client)(h) } else { client.clone() };
                    if let Err(e) = case(h, walk, &client, (i, k, call.kind, fault, mode), &mut tally) {
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
    (failures, report)
}

/// The kinds of calls the steps of `walk` make when nothing fails.
pub fn kinds_reached(h: &Host, walk: &Walk) -> Vec<CallKind> {
    let mut f = new_flow(&(walk.client)(h));
    (walk.setup)(h, &mut f);
    let mut kinds = Vec::new();
    for step in &walk.steps {
        h.world.start_counting();
        let r = (step.send)(h, &mut f);
        assert!(step.accepted(h, &mut f, &r), "{}: {r}", step.name);
        kinds.extend(h.world.calls().iter().map(|c| c.kind));
    }
    kinds
}
