//! Decisions on v0.10 consent requests ([`crate::flow::consent_v0_10`]): table
//! `consent_v0_10_decisions`. The request itself travels sealed in its id; what the consent app
//! decided (v0.10 answered accept and reject with 204 and no verifier) waits here until the
//! browser returns. One decision per request: the insert is conditional.

use crate::platform::{col_str, PResult, Platform, Query};

/// Record the decision on request `id`; false when one was recorded already.
pub async fn decide<P: Platform>(p: &P, id: &str, decision: &str, expires_at: i64) -> PResult<bool> {
    let q = Query::new(
        "INSERT INTO consent_v0_10_decisions (id, decision, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(decision)
    .bind(expires_at);
    Ok(p.sql(q).await?.changes == 1)
}

/// The decision on request `id`, and the `request_url` of its marker when the request was
/// already redeemed: one round trip.
pub async fn decision<P: Platform>(p: &P, id: &str, marker: &str) -> PResult<(Option<String>, Option<String>)> {
    let q = Query::new(
        "SELECT (SELECT decision FROM consent_v0_10_decisions WHERE id = ?1) AS decision, \
         (SELECT request_url FROM flow_markers WHERE id = ?2) AS redeemed",
    )
    .bind(id)
    .bind(marker);
    let r = p.sql(q).await?;
    let row = r.rows.first();
    let get = |name: &str| row.map(|r| col_str(r, name)).filter(|v| !v.is_empty());
    Ok((get("decision"), get("redeemed")))
}
