//! Authorization codes, access and refresh tokens, and client-assertion `jti`s.
//!
//! Single use is enforced by D1, never by KV: a code is redeemed with one conditional UPDATE,
//! and the tokens it yields are inserted in the same batch only if that UPDATE was this
//! request's, so two locations racing on one code cannot both get tokens.

use crate::platform::{col_i64, col_str, PResult, Platform, Query};
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
        "INSERT INTO tokens (signature, kind, request_id, client_id, subject, data, issued_at, expires_at) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS (SELECT 1 FROM flow_markers WHERE id = ?9 AND claim = ?10)",
        t,
        &claim.marker,
        &claim.value,
    )
}

/// Insert a token if the authorization code `code_signature` was claimed by `claim_value`.
fn insert_token_after_code(t: &TokenRow, code_signature: &str, claim_value: &str) -> Query {
    token_query(
        "INSERT INTO tokens (signature, kind, request_id, client_id, subject, data, issued_at, expires_at) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS (SELECT 1 FROM authorization_codes WHERE signature = ?9 AND claim = ?10)",
        t,
        code_signature,
        claim_value,
    )
}

fn token_query(sql: &'static str, t: &TokenRow, key: &str, claim: &str) -> Query {
    Query::new(sql)
        .bind(&t.signature)
        .bind(t.kind)
        .bind(&t.request_id)
        .bind(&t.client_id)
        .bind(&t.subject)
        .bind(&t.data)
        .bind(t.issued_at)
        .bind(t.expires_at)
        .bind(key)
        .bind(claim)
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

/// Remove every access and refresh token of a grant (code replay, revocation).
pub async fn revoke_request<P: Platform>(p: &P, request_id: &str) -> PResult<u64> {
    Ok(p.sql(Query::new("DELETE FROM tokens WHERE request_id = ?1").bind(request_id)).await?.changes)
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
        };
        assert!(block_on(redeem_code(&p, "s", "claim-1", 10, std::slice::from_ref(&token))).unwrap());
        let again = TokenRow { signature: "t2".into(), ..token };
        assert!(!block_on(redeem_code(&p, "s", "claim-2", 11, &[again])).unwrap());
        assert_eq!(w.count("SELECT * FROM tokens"), 1, "the loser wrote nothing");
        assert_eq!(block_on(revoke_request(&p, "r")).unwrap(), 1);
        assert!(!block_on(redeem_code(&p, "s", "claim-3", 2000, &[])).unwrap(), "expired and used");
    }
}
