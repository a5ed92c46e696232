//! Device authorization requests (RFC 8628): table `device_codes`, and the per-verification
//! user-code attempt counters.
//!
//! A device request moves `pending` → `accepted` (consent given) or `rejected` → `used`, each
//! step one conditional UPDATE on the state it expects, so two locations can never both accept,
//! or both redeem, one code.

use serde_json::Value;

use crate::platform::{col_i64, col_opt, col_str, PResult, Platform, Query, Row};
use crate::store::flows::{insert_consent_where, insert_marker, Claim, ConsentSessionRow};
use crate::store::tokens::{insert_token_after_device, TokenRow};

#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRow {
    pub signature: String,
    pub user_code_signature: String,
    pub request_id: String,
    pub client_id: String,
    pub scope: Vec<String>,
    pub audience: Vec<String>,
    pub requested_at: i64,
    pub expires_at: i64,
    /// `pending`, `accepted`, `rejected` or `used`.
    pub state: String,
    pub consent_request_id: Option<String>,
    /// The accepted grant (JSON of `token::issue::Grant`).
    pub grant_data: Option<String>,
    /// Milliseconds.
    pub last_polled_at: Option<i64>,
    pub poll_interval: i64,
}

fn device_row(row: &Row) -> DeviceRow {
    let list = |name: &str| serde_json::from_str::<Vec<String>>(&col_str(row, name)).unwrap_or_default();
    DeviceRow {
        signature: col_str(row, "signature"),
        user_code_signature: col_str(row, "user_code_signature"),
        request_id: col_str(row, "request_id"),
        client_id: col_str(row, "client_id"),
        scope: list("scope"),
        audience: list("audience"),
        requested_at: col_i64(row, "requested_at"),
        expires_at: col_i64(row, "expires_at"),
        state: col_str(row, "state"),
        consent_request_id: col_opt(row, "consent_request_id"),
        grant_data: col_opt(row, "grant_data"),
        last_polled_at: row.get("last_polled_at").filter(|v| !v.is_null()).map(|_| col_i64(row, "last_polled_at")),
        poll_interval: col_i64(row, "poll_interval"),
    }
}

/// Store a new device request; false when its user code's signature is taken (the caller
/// draws another code).
pub async fn insert<P: Platform>(p: &P, d: &DeviceRow) -> PResult<bool> {
    let q = Query::new(
        "INSERT INTO device_codes (signature, user_code_signature, request_id, client_id, scope, audience, requested_at, \
         expires_at, state, poll_interval) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9) ON CONFLICT DO NOTHING",
    )
    .bind(&d.signature)
    .bind(&d.user_code_signature)
    .bind(&d.request_id)
    .bind(&d.client_id)
    .bind(serde_json::to_string(&d.scope).expect("json"))
    .bind(serde_json::to_string(&d.audience).expect("json"))
    .bind(d.requested_at)
    .bind(d.expires_at)
    .bind(d.poll_interval);
    Ok(p.sql(q).await?.changes == 1)
}

async fn one<P: Platform>(p: &P, sql: &'static str, key: &str) -> PResult<Option<DeviceRow>> {
    Ok(p.sql(Query::new(sql).bind(key)).await?.rows.first().map(device_row))
}

pub async fn by_signature<P: Platform>(p: &P, signature: &str) -> PResult<Option<DeviceRow>> {
    one(
        p,
        "SELECT signature, user_code_signature, request_id, client_id, scope, audience, requested_at, expires_at, \
     state, consent_request_id, grant_data, last_polled_at, poll_interval FROM device_codes WHERE signature = ?1",
        signature,
    )
    .await
}

pub async fn by_request_id<P: Platform>(p: &P, request_id: &str) -> PResult<Option<DeviceRow>> {
    one(
        p,
        "SELECT signature, user_code_signature, request_id, client_id, scope, audience, requested_at, expires_at, \
     state, consent_request_id, grant_data, last_polled_at, poll_interval FROM device_codes WHERE request_id = ?1",
        request_id,
    )
    .await
}

/// What one user-code attempt found.
#[derive(Debug, Clone)]
pub struct UserCodeAttempt {
    /// The verification's marker exists: its verifier was redeemed already.
    pub verification_used: bool,
    /// Attempts made in this verification so far, this one included.
    pub attempts: i64,
    /// The device request the code belongs to, if any, and whether its client still exists.
    pub row: Option<DeviceRow>,
    pub client_exists: bool,
}

/// Count one user-code attempt of verification `attempt_key` (atomically, before the lookup),
/// look the code up by its signature, and see whether the verification (`marker`) was used, in
/// one round trip.
pub async fn attempt_user_code<P: Platform>(
    p: &P,
    marker: &str,
    attempt_key: &str,
    attempts_expire_at: i64,
    user_code_signature: &str,
) -> PResult<UserCodeAttempt> {
    let results = p
        .sql_batch(vec![
            Query::new("SELECT 1 AS used FROM flow_markers WHERE id = ?1").bind(marker),
            Query::new(
                "INSERT INTO device_user_code_attempts (id, attempts, expires_at) VALUES (?1, 1, ?2) \
                 ON CONFLICT (id) DO UPDATE SET attempts = attempts + 1 RETURNING attempts",
            )
            .bind(attempt_key)
            .bind(attempts_expire_at),
            Query::new(
                "SELECT signature, user_code_signature, request_id, client_id, scope, audience, requested_at, expires_at, \
                 state, consent_request_id, grant_data, last_polled_at, poll_interval, \
                 EXISTS (SELECT 1 FROM clients WHERE clients.id = device_codes.client_id) AS client_exists \
                 FROM device_codes WHERE user_code_signature = ?1",
            )
            .bind(user_code_signature),
        ])
        .await?;
    let first = |i: usize| results.get(i).and_then(|r| r.rows.first());
    Ok(UserCodeAttempt {
        verification_used: first(0).is_some(),
        attempts: first(1).map(|r| col_i64(r, "attempts")).unwrap_or(i64::MAX),
        row: first(2).map(device_row),
        client_exists: first(2).map(|r| col_i64(r, "client_exists") == 1).unwrap_or(false),
    })
}

/// Another lookup by user-code signature (codes issued under an older system secret).
pub async fn by_user_code_signature<P: Platform>(p: &P, signature: &str) -> PResult<Option<DeviceRow>> {
    one(p, "SELECT signature, user_code_signature, request_id, client_id, scope, audience, requested_at, expires_at, \
     state, consent_request_id, grant_data, last_polled_at, poll_interval FROM device_codes WHERE user_code_signature = ?1", signature)
        .await
}

/// Record a poll at `now_ms` if no other poll was recorded since the one read
/// (`seen_last_poll`); false when a concurrent poll won (then this one was too fast).
pub async fn record_poll<P: Platform>(
    p: &P,
    signature: &str,
    seen_last_poll: Option<i64>,
    now_ms: i64,
) -> PResult<bool> {
    let q = Query::new(
        "UPDATE device_codes SET last_polled_at = ?2 WHERE signature = ?1 AND COALESCE(last_polled_at, -1) = ?3",
    )
    .bind(signature)
    .bind(now_ms)
    .bind(seen_last_poll.unwrap_or(-1));
    Ok(p.sql(q).await?.changes == 1)
}

/// A poll came too fast: the client must wait 5 seconds longer from now on (RFC 8628 §3.5).
pub async fn slow_down<P: Platform>(p: &P, signature: &str, now_ms: i64) -> PResult<()> {
    p.sql(
        Query::new(
            "UPDATE device_codes SET last_polled_at = ?2, poll_interval = MIN(poll_interval + 5, 300) WHERE signature = ?1",
        )
        .bind(signature)
        .bind(now_ms),
    )
    .await?;
    Ok(())
}

/// The end of a device flow's consent leg, one transaction: redeem the consent verifier's
/// marker, accept the device request (only while pending and unexpired) with the grant, and
/// store the consent session only if both happened. Returns (won the marker, accepted).
#[allow(clippy::too_many_arguments)]
pub async fn redeem_consent<P: Platform>(
    p: &P,
    claim: &Claim,
    request_url: &str,
    now: i64,
    marker_expires_at: i64,
    device_request_id: &str,
    consent: &ConsentSessionRow,
    grant_data: &Value,
) -> PResult<(bool, bool)> {
    let results = p
        .sql_batch(vec![
            insert_marker(claim, request_url, now, marker_expires_at),
            Query::new(
                "UPDATE device_codes SET state = 'accepted', consent_request_id = ?2, grant_data = ?3, claim = ?4 \
                 WHERE request_id = ?1 AND state = 'pending' AND expires_at > ?5 \
                 AND EXISTS (SELECT 1 FROM flow_markers WHERE id = ?6 AND claim = ?4)",
            )
            .bind(device_request_id)
            .bind(&consent.id)
            .bind(grant_data.to_string())
            .bind(&claim.value)
            .bind(now)
            .bind(&claim.marker),
            consent
                .bind_insert(Query::new(insert_consent_where!(
                    "EXISTS (SELECT 1 FROM device_codes WHERE request_id = ?11 AND claim = ?12)"
                )))
                .bind(device_request_id)
                .bind(&claim.value),
        ])
        .await?;
    let changed = |i: usize| results.get(i).map(|r| r.changes == 1).unwrap_or(false);
    Ok((changed(0), changed(1)))
}

/// A denied login or consent of a device flow: redeem the verifier's marker and refuse the
/// device request (polling then answers `access_denied`). True when this request won.
pub async fn redeem_denial<P: Platform>(
    p: &P,
    claim: &Claim,
    request_url: &str,
    now: i64,
    marker_expires_at: i64,
    device_request_id: &str,
) -> PResult<bool> {
    let results = p
        .sql_batch(vec![
            insert_marker(claim, request_url, now, marker_expires_at),
            Query::new(
                "UPDATE device_codes SET state = 'rejected' WHERE request_id = ?1 AND state = 'pending' \
                 AND EXISTS (SELECT 1 FROM flow_markers WHERE id = ?2 AND claim = ?3)",
            )
            .bind(device_request_id)
            .bind(&claim.marker)
            .bind(&claim.value),
        ])
        .await?;
    Ok(results.first().map(|r| r.changes == 1).unwrap_or(false))
}

/// Redeem an accepted device code and store the tokens it yields, atomically; false when it
/// was not (any more) accepted and unexpired: another request redeemed it first.
pub async fn redeem<P: Platform>(
    p: &P,
    signature: &str,
    claim_value: &str,
    now: i64,
    tokens: &[TokenRow],
) -> PResult<bool> {
    let mut batch = vec![Query::new(
        "UPDATE device_codes SET state = 'used', used_at = ?2, claim = ?3 \
         WHERE signature = ?1 AND state = 'accepted' AND expires_at > ?2",
    )
    .bind(signature)
    .bind(now)
    .bind(claim_value)];
    batch.extend(tokens.iter().map(|t| insert_token_after_device(t, signature, claim_value)));
    let results = p.sql_batch(batch).await?;
    Ok(results.first().map(|r| r.changes == 1).unwrap_or(false))
}
