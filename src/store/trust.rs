//! Trusted issuers of jwt-bearer assertions (RFC 7523): table `trusted_jwt_issuers`.

use serde_json::Value;

use crate::platform::{col_i64, col_str, PResult, Platform, Query, Row};

#[derive(Debug, Clone, PartialEq)]
pub struct TrustRow {
    pub pk: i64,
    pub id: String,
    pub issuer: String,
    /// Empty when `allow_any_subject`.
    pub subject: String,
    pub allow_any_subject: bool,
    pub scope: Vec<String>,
    pub key_id: String,
    pub public_jwk: Value,
    pub created_at: i64,
    pub expires_at: i64,
}

fn from_row(row: &Row) -> TrustRow {
    TrustRow {
        pk: col_i64(row, "pk"),
        id: col_str(row, "id"),
        issuer: col_str(row, "issuer"),
        subject: col_str(row, "subject"),
        allow_any_subject: col_i64(row, "allow_any_subject") == 1,
        scope: serde_json::from_str(&col_str(row, "scope")).unwrap_or_default(),
        key_id: col_str(row, "key_id"),
        public_jwk: serde_json::from_str(&col_str(row, "public_jwk")).unwrap_or(Value::Null),
        created_at: col_i64(row, "created_at"),
        expires_at: col_i64(row, "expires_at"),
    }
}

/// Insert a trust relationship; false when one for the same issuer, subject and key id exists.
pub async fn insert<P: Platform>(p: &P, t: &TrustRow) -> PResult<bool> {
    let q = Query::new(
        "INSERT INTO trusted_jwt_issuers (id, issuer, subject, allow_any_subject, scope, key_id, public_jwk, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
    )
    .bind(&t.id)
    .bind(&t.issuer)
    .bind(&t.subject)
    .bind(t.allow_any_subject)
    .bind(serde_json::to_string(&t.scope).expect("json"))
    .bind(&t.key_id)
    .bind(t.public_jwk.to_string())
    .bind(t.created_at)
    .bind(t.expires_at);
    Ok(p.sql(q).await?.changes == 1)
}

pub async fn get<P: Platform>(p: &P, id: &str) -> PResult<Option<TrustRow>> {
    let r = p
        .sql(
            Query::new(
                "SELECT pk, id, issuer, subject, allow_any_subject, scope, key_id, public_jwk, created_at, expires_at \
                 FROM trusted_jwt_issuers WHERE id = ?1",
            )
            .bind(id),
        )
        .await?;
    Ok(r.rows.first().map(from_row))
}

pub async fn delete<P: Platform>(p: &P, id: &str) -> PResult<bool> {
    Ok(p.sql(Query::new("DELETE FROM trusted_jwt_issuers WHERE id = ?1").bind(id)).await?.changes == 1)
}

/// One page after `after_pk` (`limit + 1` rows, so the caller sees whether more follow),
/// optionally only one issuer's.
pub async fn list<P: Platform>(p: &P, after_pk: i64, limit: i64, issuer: &str) -> PResult<Vec<TrustRow>> {
    let r = p
        .sql(
            Query::new(
                "SELECT pk, id, issuer, subject, allow_any_subject, scope, key_id, public_jwk, created_at, expires_at \
                 FROM trusted_jwt_issuers WHERE pk > ?1 AND (?2 = '' OR issuer = ?2) ORDER BY pk LIMIT ?3",
            )
            .bind(after_pk)
            .bind(issuer)
            .bind(limit + 1),
        )
        .await?;
    Ok(r.rows.iter().map(from_row).collect())
}

/// The relationships that may vouch for an assertion of `issuer` about `subject` (that
/// subject's, or the issuer's any-subject ones), with key `kid` if given; newest first,
/// expired ones included (the caller reports them as expired).
pub async fn candidates<P: Platform>(p: &P, issuer: &str, subject: &str, kid: &str) -> PResult<Vec<TrustRow>> {
    let r = p
        .sql(
            Query::new(
                "SELECT pk, id, issuer, subject, allow_any_subject, scope, key_id, public_jwk, created_at, expires_at \
                 FROM trusted_jwt_issuers WHERE issuer = ?1 AND (subject = ?2 OR allow_any_subject = 1) \
                 AND (?3 = '' OR key_id = ?3) ORDER BY pk DESC LIMIT 100",
            )
            .bind(issuer)
            .bind(subject)
            .bind(kid),
        )
        .await?;
    Ok(r.rows.iter().map(from_row).collect())
}
