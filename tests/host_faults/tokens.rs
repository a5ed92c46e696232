//! What a client does with its tokens: refresh (rotation, then reuse of a rotated refresh
//! token), `/userinfo`, revocation and introspection.

use crate::code_flow::{take_tokens, tokens_stored};
use crate::host_support::*;
use crate::walker::*;

fn invalid_grant(r: &Resp) -> bool {
    r.status() == 400 && r.json()["error"] == "invalid_grant"
}

/// The presented refresh token was redeemed (its rotation landed).
fn refresh_used(h: &Host, f: &Flow) -> bool {
    h.world.count(&format!(
        "SELECT 1 FROM tokens WHERE signature = '{}' AND used_times > 0",
        sql_str(signature_of(&f.refresh_token))
    )) > 0
}

/// After a rotation: the new pair is stored and active, the rotated token inactive, and the
/// chain holds the new access token only.
fn rotated(h: &Host, f: &Flow, absorbed: bool) -> Result<(), String> {
    tokens_stored(h, f, absorbed)?;
    match stored_token(h, &f.rotated_refresh_token) {
        Some((_, false)) => {}
        other => return Err(format!("the rotated refresh token is not inactive: {other:?}")),
    }
    let access = h.world.count(&format!(
        "SELECT 1 FROM tokens WHERE request_id = '{}' AND kind = 'access_token'",
        sql_str(&f.consent_request_id)
    ));
    if access != 1 {
        return Err(format!("{access} access tokens in the chain after a rotation"));
    }
    Ok(())
}

fn refresh_step(name: &'static str) -> Step {
    Step::new(name, |h, f| h.refresh(&f.rp, &f.refresh_token), |_, f, r| take_tokens(f, r))
        .single_use(refresh_used, invalid_grant)
        .replay_revokes()
        .done(rotated)
}

fn chain_gone(h: &Host, f: &Flow, _: bool) -> Result<(), String> {
    match chain_tokens(h, f) {
        0 => Ok(()),
        n => Err(format!("{n} tokens of the revoked chain are left")),
    }
}

fn inactive(_: &Host, _: &mut Flow, r: &Resp) -> bool {
    r.status() == 200 && r.json()["active"] == false
}

fn userinfo_ok(_: &Host, _: &mut Flow, r: &Resp) -> bool {
    r.status() == 200 && r.json()["sub"] == "walker"
}

fn userinfo_refused(_: &Host, _: &mut Flow, r: &Resp) -> bool {
    r.status() == 401 && r.json()["error"] == "invalid_token"
}

/// Refresh twice (each rotates), use the new access token, then present a rotated refresh token
/// again: reuse, which revokes the whole chain.
pub fn refresh() -> Vec<Step> {
    vec![
        refresh_step("POST /oauth2/token (refresh)"),
        Step::new("GET /userinfo (refreshed access token)", |h, f| h.userinfo(&f.access_token), userinfo_ok),
        refresh_step("POST /oauth2/token (refresh again)"),
        Step::new(
            "POST /oauth2/token (reuse of a rotated refresh token)",
            |h, f| h.refresh(&f.rp, &f.rotated_refresh_token),
            |_, _, r| invalid_grant(r),
        )
        .revokes()
        .done(chain_gone),
        Step::new(
            "POST /admin/oauth2/introspect (refresh token of the revoked chain)",
            |h, f| h.introspect(&f.refresh_token),
            inactive,
        ),
    ]
}

/// Revoke the refresh token (the whole chain goes), then every token of it is refused.
pub fn revocation() -> Vec<Step> {
    vec![
        Step::new(
            "POST /oauth2/revoke (refresh token)",
            |h, f| h.revoke(&f.rp, &f.refresh_token),
            |_, _, r| r.status() == 200,
        )
        .revokes()
        .done(chain_gone),
        Step::new(
            "POST /admin/oauth2/introspect (revoked access token)",
            |h, f| h.introspect(&f.access_token),
            inactive,
        ),
        Step::new("GET /userinfo (revoked access token)", |h, f| h.userinfo(&f.access_token), userinfo_refused),
        Step::new(
            "POST /oauth2/token (revoked refresh token)",
            |h, f| h.refresh(&f.rp, &f.refresh_token),
            |_, _, r| invalid_grant(r),
        ),
        Step::new("POST /oauth2/revoke (again)", |h, f| h.revoke(&f.rp, &f.access_token), |_, _, r| r.status() == 200),
    ]
}

/// The JWT access token's `jti` is on the revocation list.
fn jti_revoked(h: &Host, f: &Flow, absorbed: bool) -> Result<(), String> {
    chain_gone(h, f, absorbed)?;
    let jti = h.claims(&f.access_token)["jti"].as_str().unwrap_or_default().to_string();
    match h.world.count(&format!("SELECT 1 FROM revoked_jtis WHERE jti = '{}'", sql_str(&jti))) {
        1 => Ok(()),
        _ => Err(format!("the revoked JWT access token's jti {jti} is not listed")),
    }
}

/// JWT access tokens (`STRATEGIES_ACCESS_TOKEN=jwt`): revoking one revokes its chain and lists
/// its `jti`; introspection and `/userinfo` refuse it although its signature still verifies.
pub fn jwt_revocation() -> Vec<Step> {
    vec![
        Step::new("GET /userinfo (JWT access token)", |h, f| h.userinfo(&f.access_token), userinfo_ok),
        Step::new(
            "POST /oauth2/revoke (JWT access token)",
            |h, f| h.revoke(&f.rp, &f.access_token),
            |_, _, r| r.status() == 200,
        )
        .revokes()
        .done(jti_revoked),
        Step::new("POST /admin/oauth2/introspect (revoked JWT)", |h, f| h.introspect(&f.access_token), inactive),
        Step::new("GET /userinfo (revoked JWT)", |h, f| h.userinfo(&f.access_token), userinfo_refused),
    ]
}
