//! RP-initiated logout with front- and back-channel notifications: the logout request with an
//! `id_token_hint`, the logout app's admin calls, the browser's return with the verifier (the
//! session ends once; relying parties are told at most once), and a new authorization request
//! that finds no session.

use crate::code_flow::to_tokens;
use crate::host_support::*;
use crate::walker::*;
use hydra_edge::crypto::seal::Purpose;
use hydra_edge::flow::LoginState;
use hydra_edge::http::Method;
use serde_json::json;

pub const BACKCHANNEL: &str = "https://rp.example/backchannel";
pub const FRONTCHANNEL: &str = "https://rp.example/frontchannel";

pub fn client(h: &Host) -> (Rp, ClientAuth) {
    h.world.serve_post(BACKCHANNEL, 200, "");
    let rp = h.register(json!({
        "post_logout_redirect_uris": [BYE],
        "frontchannel_logout_uri": FRONTCHANNEL,
        "backchannel_logout_uri": BACKCHANNEL,
    }));
    (rp, ClientAuth::SecretBasic)
}

pub fn setup(h: &Host, f: &mut Flow) {
    to_tokens(h, f);
}

fn goodbye(f: &Flow) -> String {
    format!("{BYE}?state={}", f.state)
}

/// Does the response clear the session cookie?
fn clears_session(r: &Resp) -> bool {
    r.0.headers.iter().any(|(k, v)| {
        k == "set-cookie" && v.contains("ory_hydra_session=;") && v.to_ascii_lowercase().contains("max-age=0")
    })
}

/// The end of a logout: the session cookie cleared, and either the front-channel page (which
/// then goes on to the relying party) or, when there is nothing to load, the relying party.
fn logged_out(_: &Host, f: &mut Flow, r: &Resp) -> bool {
    let to = goodbye(f);
    clears_session(r)
        && ((r.status() == 200 && r.text().contains(&to) && r.text().contains(FRONTCHANNEL))
            || (r.status() == 302 && r.location() == to))
}

/// A reused verifier: on to the relying party, and nothing else (no cookie, no notification).
fn already_logged_out(r: &Resp) -> bool {
    r.status() == 302 && r.location().starts_with(BYE) && !clears_session(r)
}

fn logout_committed(h: &Host, f: &Flow) -> bool {
    logout_marker(h, f).is_some_and(|m| marker_exists(h, &m))
}

/// The back-channel logout requests sent for this run's session.
pub fn notifications(h: &Host, f: &Flow) -> Vec<hydra_edge::host::Sent> {
    h.world
        .sent()
        .into_iter()
        .filter(|s| s.url == BACKCHANNEL)
        .filter(|s| s.form_param("logout_token").is_some_and(|t| h.claims(&t)["sid"] == f.session_id.as_str()))
        .collect()
}

/// The session is gone and the relying party was told once (unless a best-effort step of the
/// notification failed: then at most once).
fn ended(h: &Host, f: &Flow, absorbed: bool) -> Result<(), String> {
    if session_exists(h, f) {
        return Err("the session survived its logout".into());
    }
    let sent = notifications(h, f);
    match (sent.len(), absorbed) {
        (1, _) if sent[0].outcome == Ok(200) => Ok(()),
        (0, true) => Ok(()),
        (1, true) => Ok(()),
        _ => Err(format!("back-channel logout requests for the session: {sent:?}")),
    }
}

pub fn steps() -> Vec<Step> {
    vec![
        Step::new(
            "GET /oauth2/sessions/logout (id_token_hint)",
            |h, f| {
                let query =
                    form(&[("id_token_hint", &f.id_token), ("post_logout_redirect_uri", BYE), ("state", &f.state)]);
                f.browser.get(h, &format!("/oauth2/sessions/logout?{query}"))
            },
            |_, f, r| r.param("logout_challenge").map(|c| f.logout_challenge = c).is_some(),
        ),
        Step::new(
            "GET logout request",
            |h, f| {
                h.admin_at(
                    &h.p,
                    Method::Get,
                    &format!("/admin/oauth2/auth/requests/logout?logout_challenge={}", f.logout_challenge),
                    None,
                )
            },
            |_, f, r| r.status() == 200 && r.json()["sid"] == f.session_id.as_str() && r.json()["rp_initiated"] == true,
        ),
        Step::new(
            "PUT logout accept",
            |h, f| {
                h.admin_at(
                    &h.p,
                    Method::Put,
                    &format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={}", f.logout_challenge),
                    Some(&json!({})),
                )
            },
            |_, f, r| {
                r.status() == 200
                    && r.json()["redirect_to"].as_str().map(|s| f.logout_verifier_url = s.to_string()).is_some()
            },
        ),
        Step::new(
            "GET logout_verifier",
            |h, f| {
                let url = f.logout_verifier_url.clone();
                f.browser.get(h, &url)
            },
            logged_out,
        )
        .single_use(logout_committed, already_logged_out)
        .done(ended),
        Step::new(
            "GET /oauth2/auth (after the logout)",
            |h, f| {
                let url = f.rp.auth_url(&[("state", &f.state)]);
                f.browser.get(h, &url)
            },
            |h, f, r| match r.param("login_challenge") {
                Some(c) => {
                    let skip = h.unseal::<LoginState>(Purpose::LoginChallenge, &c).skip;
                    f.login_challenge = c;
                    !skip
                }
                None => false,
            },
        ),
    ]
}
