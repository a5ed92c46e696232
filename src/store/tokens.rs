//! Authorization codes, access and refresh tokens, revoked JWT access tokens, and
//! client-assertion `jti`s.
//!
//! Single use is enforced by D1, never by KV: a code or a refresh token is redeemed with one
//! conditional UPDATE, and the tokens it yields are inserted in the same batch only if that
//! UPDATE was this request's, so two locations racing on one code cannot both get tokens.
//!
//! JWT access tokens are verified by signature; whether one was revoked is a row in
//! `revoked_jtis` (or a per-client cutoff time), so a client_credentials JWT is issued without
//! any write and revocation still works.

use crate::platform::{col_i64, col_opt, col_str, PResult, Platform, Query, Row};
use crate::store::flows::Claim;

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub signature: String,
    /// `access_token` or `refresh_token`.
    pub kind: &'static str,
    pub request_id: String,
    pub client_id: String,
    pub subject: String,
    pub data: String,
    pub issued_at: i64,
    pub expires_at: Option<i64>,
    /// JWT access tokens: their `jti`.
    pub jti: Option<String>,
    /// Refresh tokens: the access token issued with them.
    pub access_signature: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CodeRow {
    pub signature: String,
    pub request_id: String,
    pub client_id: String,
    pub data: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// Insert a token if the flow marker `claim` is this request's.
pub fn insert_token_after_marker(t: &TokenRow, claim: &Claim) -> Query {
    token_query(
        "INSERT INTO tokens (signature, kind, request_id, client_id, subject, data, issued_at, expires_at, jti, access_signature) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE EXISTS (SELECT 1 FROM flow_markers WHERE id = ?11 AND claim = ?12)",
        t,
        &claim.marker,
        &claim.value,
    )
}

/// Insert a token if the authorization code `code_signature` was claimed by `claim_value`.
fn insert_token_after_code(t: &TokenRow, code_signature: &str, claim_value: &str) -> Query {
    token_query(
        "INSERT INTO tokens (signature, kind, request_id, client_id, subject, data, issued_at, expires_at, jti, access_signature) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE EXISTS (SELECT 1 FROM authorization_codes WHERE signature = ?11 AND claim = ?12)",
        t,
        code_signature,
        claim_value,
    )
}

/// Insert a token if the device code `device_signature` was claimed by `claim_value`.
pub fn insert_token_after_device(t: &TokenRow, device_signature: &str, claim_value: &str) -> Query {
    token_query(
        "INSERT INTO tokens (signature, kind, request_id, client_id, subject, data, issued_at, expires_at, jti, access_signature) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE EXISTS (SELECT 1 FROM device_codes WHERE signature = ?11 AND claim = ?12)",
        t,
        device_signature,
        claim_value,
    )
}

/// Bind ?1..?10: the token's columns.
fn token_columns(sql: &'static str, t: &TokenRow) -> Query {
    Query::new(sql)
        .bind(&t.signature)
        .bind(t.kind)
        .bind(&t.request_id)
        .bind(&t.client_id)
        .bind(&t.subject)
        .bind(&t.data)
        .bind(t.issued_at)
        .bind(t.expires_at)
        .bind(t.jti.clone())
        .bind(t.access_signature.clone())
}

fn token_query(sql: &'static str, t: &TokenRow, key: &str, claim: &str) -> Query {
    token_columns(sql, t).bind(key).bind(claim)
}

/// Insert an authorization code if the consent marker `claim` is this request's.
pub fn insert_code_after_marker(c: &CodeRow, claim: &Claim) -> Query {
    Query::new(
        "INSERT INTO authorization_codes (signature, request_id, client_id, data, expires_at) \
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM flow_markers WHERE id = ?6 AND claim = ?7)",
    )
    .bind(&c.signature)
    .bind(&c.request_id)
    .bind(&c.client_id)
    .bind(&c.data)
    .bind(c.expires_at)
    .bind(&claim.marker)
    .bind(&claim.value)
}

pub async fn get_code<P: Platform>(p: &P, signature: &str) -> PResult<Option<CodeRow>> {
    let r = p
        .sql(Query::new("SELECT signature, request_id, client_id, data, expires_at, used_at FROM authorization_codes WHERE signature = ?1").bind(signature))
        .await?;
    Ok(r.rows.first().map(|row| CodeRow {
        signature: col_str(row, "signature"),
        request_id: col_str(row, "request_id"),
        client_id: col_str(row, "client_id"),
        data: col_str(row, "data"),
        expires_at: col_i64(row, "expires_at"),
        used_at: row.get("used_at").filter(|v| !v.is_null()).map(|_| col_i64(row, "used_at")),
    }))
}

/// Redeem a code and store the tokens it yields, atomically. False when another request
/// redeemed it first (then nothing was written).
pub async fn redeem_code<P: Platform>(
    p: &P,
    signature: &str,
    claim_value: &str,
    now: i64,
    tokens: &[TokenRow],
) -> PResult<bool> {
    let mut batch = vec![Query::new(
        "UPDATE authorization_codes SET used_at = ?2, claim = ?3 WHERE signature = ?1 AND used_at IS NULL AND expires_at > ?2",
    )
    .bind(signature)
    .bind(now)
    .bind(claim_value)];
    batch.extend(tokens.iter().map(|t| insert_token_after_code(t, signature, claim_value)));
    super::claim_batch(p, batch).await
}

/// Revoke every access and refresh token of one grant chain: the consent's request id (or the
/// request id of a client_credentials / jwt-bearer token). JWT access tokens of the chain go to
/// `revoked_jtis`, then every row of the chain is deleted; one transaction. Used by code replay,
/// refresh-token reuse, `/oauth2/revoke` and device-code reuse; consent revocation runs the same
/// statements over several chains at once (`store::sessions::revoke_consents`). Returns the
/// number of tokens removed.
pub async fn revoke_chain<P: Platform>(p: &P, request_id: &str) -> PResult<u64> {
    let results = p
        .sql_batch(vec![
            Query::new(
                "INSERT INTO revoked_jtis (jti, expires_at) SELECT jti, COALESCE(expires_at, 0) FROM tokens \
                 WHERE request_id = ?1 AND kind = 'access_token' AND jti IS NOT NULL ON CONFLICT (jti) DO NOTHING",
            )
            .bind(request_id),
            Query::new("DELETE FROM tokens WHERE request_id = ?1").bind(request_id),
        ])
        .await?;
    Ok(results.last().map(|r| r.changes).unwrap_or(0))
}

/// Revoke one JWT access token that was never stored (client_credentials, jwt-bearer).
pub async fn revoke_jti<P: Platform>(p: &P, jti: &str, expires_at: i64) -> PResult<()> {
    p.sql(
        Query::new("INSERT INTO revoked_jtis (jti, expires_at) VALUES (?1, ?2) ON CONFLICT (jti) DO NOTHING")
            .bind(jti)
            .bind(expires_at),
    )
    .await?;
    Ok(())
}

/// `DELETE /admin/oauth2/tokens`: delete the client's stored access tokens and make every JWT
/// access token of the client issued up to `now` inactive. One transaction.
pub async fn revoke_client_access_tokens<P: Platform>(p: &P, client_id: &str, now: i64) -> PResult<()> {
    p.sql_batch(vec![
        Query::new("DELETE FROM tokens WHERE client_id = ?1 AND kind = 'access_token'").bind(client_id),
        Query::new(
            "INSERT INTO client_token_cutoffs (client_id, revoked_before) VALUES (?1, ?2) \
             ON CONFLICT (client_id) DO UPDATE SET revoked_before = MAX(client_token_cutoffs.revoked_before, excluded.revoked_before)",
        )
        .bind(client_id)
        .bind(now),
    ])
    .await?;
    Ok(())
}

/// A stored access or refresh token.
#[derive(Debug, Clone)]
pub struct StoredToken {
    pub signature: String,
    pub kind: String,
    pub request_id: String,
    pub client_id: String,
    pub subject: String,
    pub data: String,
    pub issued_at: i64,
    pub expires_at: Option<i64>,
    pub active: bool,
    pub first_used_at: Option<i64>,
    pub used_times: i64,
}

fn opt_i64(row: &Row, name: &str) -> Option<i64> {
    row.get(name).filter(|v| !v.is_null()).map(|_| col_i64(row, name))
}

fn stored_token(row: &Row) -> StoredToken {
    StoredToken {
        signature: col_str(row, "signature"),
        kind: col_str(row, "kind"),
        request_id: col_str(row, "request_id"),
        client_id: col_str(row, "client_id"),
        subject: col_str(row, "subject"),
        data: col_str(row, "data"),
        issued_at: col_i64(row, "issued_at"),
        expires_at: opt_i64(row, "expires_at"),
        active: col_i64(row, "active") == 1,
        first_used_at: opt_i64(row, "first_used_at"),
        used_times: col_i64(row, "used_times"),
    }
}

/// An access or refresh token by signature.
pub async fn get_token<P: Platform>(p: &P, signature: &str) -> PResult<Option<StoredToken>> {
    let r = p
        .sql(
            Query::new(
                "SELECT signature, kind, request_id, client_id, subject, data, issued_at, expires_at, active, \
                 first_used_at, used_times FROM tokens WHERE signature = ?1",
            )
            .bind(signature),
        )
        .await?;
    Ok(r.rows.first().map(stored_token))
}

/// Insert tokens that need no single-use guard (client_credentials, jwt-bearer).
pub async fn insert_tokens<P: Platform>(p: &P, tokens: &[TokenRow]) -> PResult<()> {
    let batch = tokens
        .iter()
        .map(|t| {
            token_columns(
                "INSERT INTO tokens (signature, kind, request_id, client_id, subject, data, issued_at, expires_at, jti, access_signature) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                t,
            )
        })
        .collect();
    p.sql_batch(batch).await?;
    Ok(())
}

/// What a JWT access token's revocation state is: revoked by `jti`, the client's cutoff time,
/// and the stored grant data of the token (tokens of a consent grant), in one statement.
#[derive(Debug, Clone, Default)]
pub struct JwtState {
    pub revoked: bool,
    pub client_cutoff: Option<i64>,
    pub data: Option<String>,
}

pub async fn jwt_state<P: Platform>(p: &P, jti: &str, client_id: &str, signature: &str) -> PResult<JwtState> {
    let r = p
        .sql(
            Query::new(
                "SELECT EXISTS (SELECT 1 FROM revoked_jtis WHERE jti = ?1) AS revoked, \
                 (SELECT revoked_before FROM client_token_cutoffs WHERE client_id = ?2) AS cutoff, \
                 (SELECT data FROM tokens WHERE signature = ?3) AS data",
            )
            .bind(jti)
            .bind(client_id)
            .bind(signature),
        )
        .await?;
    Ok(r.rows
        .first()
        .map(|row| JwtState {
            revoked: col_i64(row, "revoked") == 1,
            client_cutoff: opt_i64(row, "cutoff"),
            data: col_opt(row, "data"),
        })
        .unwrap_or_default())
}

/// The grace period of refresh-token rotation: a used refresh token keeps working for
/// `period` seconds after its first use, at most `count` more times (0: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grace {
    pub period: i64,
    pub count: i64,
}

/// Redeem a refresh token and store its successors, atomically; false when another request
/// redeemed it first (nothing is written then).
///
/// Strict rotation (no grace period): the token must still be active; every access token of
/// the chain is revoked and every refresh token of the chain deactivated. Within a grace
/// period a used token may be redeemed again; only the access token issued with it is revoked.
pub async fn rotate_refresh<P: Platform>(
    p: &P,
    signature: &str,
    request_id: &str,
    claim: &str,
    now: i64,
    grace: Option<Grace>,
    tokens: &[TokenRow],
) -> PResult<bool> {
    let guard = match grace {
        None => Query::new(
            "UPDATE tokens SET active = 0, first_used_at = COALESCE(first_used_at, ?2), used_times = used_times + 1, claim = ?3 \
             WHERE signature = ?1 AND kind = 'refresh_token' AND active = 1 AND (expires_at IS NULL OR expires_at > ?2)",
        )
        .bind(signature)
        .bind(now)
        .bind(claim),
        Some(g) => Query::new(
            "UPDATE tokens SET active = 0, first_used_at = COALESCE(first_used_at, ?2), used_times = used_times + 1, claim = ?3 \
             WHERE signature = ?1 AND kind = 'refresh_token' AND (expires_at IS NULL OR expires_at > ?2) \
             AND (active = 1 OR (first_used_at IS NOT NULL AND first_used_at + ?4 > ?2 AND (?5 = 0 OR used_times < ?5)))",
        )
        .bind(signature)
        .bind(now)
        .bind(claim)
        .bind(g.period)
        .bind(g.count),
    };
    // ?1 request id, ?2 refresh signature, ?3 claim; `EXISTS (... claim = ?3)`: this request won.
    let q = |sql: &'static str| Query::new(sql).bind(request_id).bind(signature).bind(claim);
    let mut batch = vec![guard];
    if grace.is_none() {
        batch.push(q("INSERT INTO revoked_jtis (jti, expires_at) SELECT jti, COALESCE(expires_at, 0) FROM tokens \
             WHERE request_id = ?1 AND kind = 'access_token' AND jti IS NOT NULL \
             AND EXISTS (SELECT 1 FROM tokens WHERE signature = ?2 AND claim = ?3) ON CONFLICT (jti) DO NOTHING"));
        batch.push(q("DELETE FROM tokens WHERE request_id = ?1 AND kind = 'access_token' \
             AND EXISTS (SELECT 1 FROM tokens WHERE signature = ?2 AND claim = ?3)"));
        batch.push(q("UPDATE tokens SET active = 0 WHERE request_id = ?1 AND kind = 'refresh_token' AND active = 1 \
             AND EXISTS (SELECT 1 FROM tokens WHERE signature = ?2 AND claim = ?3)"));
    } else {
        batch.push(q("INSERT INTO revoked_jtis (jti, expires_at) SELECT jti, COALESCE(expires_at, 0) FROM tokens \
             WHERE ?1 = request_id AND signature = (SELECT access_signature FROM tokens WHERE signature = ?2) \
             AND jti IS NOT NULL AND EXISTS (SELECT 1 FROM tokens WHERE signature = ?2 AND claim = ?3) ON CONFLICT (jti) DO NOTHING"));
        batch.push(q("DELETE FROM tokens WHERE ?1 = request_id AND signature = (SELECT access_signature FROM tokens WHERE signature = ?2) \
             AND EXISTS (SELECT 1 FROM tokens WHERE signature = ?2 AND claim = ?3)"));
    }
    batch.extend(tokens.iter().map(|t| insert_token_after_refresh(t, signature, claim)));
    super::claim_batch(p, batch).await
}

/// Insert a token if the refresh token `refresh_signature` was claimed by `claim`.
fn insert_token_after_refresh(t: &TokenRow, refresh_signature: &str, claim: &str) -> Query {
    token_query(
        "INSERT INTO tokens (signature, kind, request_id, client_id, subject, data, issued_at, expires_at, jti, access_signature) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE EXISTS (SELECT 1 FROM tokens WHERE signature = ?11 AND claim = ?12)",
        t,
        refresh_signature,
        claim,
    )
}

/// Remember a client-assertion `jti` until it expires. False if it was seen (and has not
/// expired): a replay.
pub async fn remember_jti<P: Platform>(p: &P, id: &str, expires_at: i64, now: i64) -> PResult<bool> {
    let q = Query::new(
        "INSERT INTO client_assertion_jtis (id, expires_at) VALUES (?1, ?2) \
         ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at WHERE client_assertion_jtis.expires_at < ?3",
    )
    .bind(id)
    .bind(expires_at)
    .bind(now);
    Ok(p.sql(q).await?.changes == 1)
}

/// The client of an unexpired access token, by signature (CORS: whose origins may read the
/// answer to a bearer request).
pub async fn access_token_client<P: Platform>(p: &P, signature: &str, now: i64) -> PResult<Option<String>> {
    let r = p
        .sql(
            Query::new(
                "SELECT client_id FROM tokens WHERE signature = ?1 AND kind = 'access_token' \
                 AND (expires_at IS NULL OR expires_at > ?2)",
            )
            .bind(signature)
            .bind(now),
        )
        .await?;
    Ok(r.rows.first().map(|row| col_str(row, "client_id")))
}

/// Unit tests on the host platform (D1 semantics over SQLite, see `crate::host`).
#[cfg(all(test, feature = "host-platform", not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::host::{block_on, World};

    #[test]
    fn a_jti_is_refused_until_it_expires() {
        let p = World::new().location("a");
        assert!(block_on(remember_jti(&p, "j", 100, 50)).unwrap());
        assert!(!block_on(remember_jti(&p, "j", 200, 99)).unwrap(), "replayed while alive");
        assert!(block_on(remember_jti(&p, "j", 300, 101)).unwrap(), "usable again once expired");
    }

    #[test]
    fn a_code_is_redeemed_once_with_its_tokens() {
        let w = World::new();
        let p = w.location("a");
        w.sql("INSERT INTO authorization_codes (signature, request_id, client_id, data, expires_at) VALUES ('s', 'r', 'c', '{}', 1000)");
        let token = TokenRow {
            signature: "t".into(),
            kind: "access_token",
            request_id: "r".into(),
            client_id: "c".into(),
            subject: "u".into(),
            data: "{}".into(),
            issued_at: 1,
            expires_at: Some(2),
            jti: None,
            access_signature: None,
        };
        assert!(block_on(redeem_code(&p, "s", "claim-1", 10, std::slice::from_ref(&token))).unwrap());
        let again = TokenRow { signature: "t2".into(), ..token };
        assert!(!block_on(redeem_code(&p, "s", "claim-2", 11, &[again])).unwrap());
        assert_eq!(w.count("SELECT * FROM tokens"), 1, "the loser wrote nothing");
        assert_eq!(block_on(revoke_chain(&p, "r")).unwrap(), 1);
        assert!(!block_on(redeem_code(&p, "s", "claim-3", 2000, &[])).unwrap(), "expired and used");
    }
}
