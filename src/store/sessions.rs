//! Consent and login sessions as the admin API and logout see them: listing a subject's
//! consents, revoking them with every token of their grants, deleting login sessions, and
//! finding the clients that took part in a login session.

use serde_json::Value;

use crate::clients::model::Client;
use crate::platform::{col_i64, col_str, PResult, Platform, Query, Row};
use crate::store::flows::{Claim, ConsentSessionRow};

/// One listed consent session with its list position (`rowid`, the page key) and its client
/// as stored now (`None` if it was deleted).
#[derive(Debug, Clone)]
pub struct ListedConsent {
    pub pk: i64,
    pub row: ConsentSessionRow,
    pub client: Option<Client>,
}

fn consent_row(row: &Row) -> ConsentSessionRow {
    ConsentSessionRow {
        id: col_str(row, "id"),
        client_id: col_str(row, "client_id"),
        subject: col_str(row, "subject"),
        login_session_id: col_str(row, "login_session_id"),
        grant_scope: serde_json::from_str(&col_str(row, "grant_scope")).unwrap_or_default(),
        remember: col_i64(row, "remember") == 1,
        remember_for: col_i64(row, "remember_for"),
        skipped: col_i64(row, "skipped") == 1,
        handled_at: col_i64(row, "handled_at"),
        data: serde_json::from_str(&col_str(row, "data")).unwrap_or(Value::Null),
    }
}

/// A consent whose `remember_for` has run out is no longer listed (Hydra v26's generated
/// `expires_at`); the parameter numbered `$now` is now.
macro_rules! unexpired {
    ($now:literal) => {
        concat!("(s.remember_for <= 0 OR s.handled_at + s.remember_for > ?", $now, ")")
    };
}

/// A page of a subject's granted consents (as Hydra lists them: not the skipped ones), after
/// `after_pk`, optionally of one login session; `limit + 1` rows so the caller sees whether
/// another page follows.
pub async fn list_consents<P: Platform>(
    p: &P,
    subject: &str,
    login_session_id: &str,
    after_pk: i64,
    limit: i64,
    now: i64,
) -> PResult<Vec<ListedConsent>> {
    let q = Query::new(concat!(
        "SELECT s.rowid AS pk, s.id, s.client_id, s.subject, s.login_session_id, s.grant_scope, s.remember, \
         s.remember_for, s.skipped, s.handled_at, s.data, c.data AS client_data \
         FROM consent_sessions s LEFT JOIN clients c ON c.id = s.client_id WHERE s.subject = ?1 AND s.skipped = 0 \
         AND (?2 = '' OR s.login_session_id = ?2) AND s.rowid > ?3 AND ",
        unexpired!("5"),
        " ORDER BY s.rowid LIMIT ?4"
    ))
    .bind(subject)
    .bind(login_session_id)
    .bind(after_pk)
    .bind(limit + 1)
    .bind(now);
    Ok(p.sql(q)
        .await?
        .rows
        .iter()
        .map(|r| ListedConsent {
            pk: col_i64(r, "pk"),
            row: consent_row(r),
            client: serde_json::from_str(&col_str(r, "client_data")).ok(),
        })
        .collect())
}

/// A page of a subject's granted consents by offset (Hydra v1's `limit`/`offset`), and how many
/// there are in all: one round trip.
pub async fn list_consents_offset<P: Platform>(
    p: &P,
    subject: &str,
    login_session_id: &str,
    offset: i64,
    limit: i64,
    now: i64,
) -> PResult<(Vec<ListedConsent>, i64)> {
    let page = Query::new(concat!(
        "SELECT s.rowid AS pk, s.id, s.client_id, s.subject, s.login_session_id, s.grant_scope, s.remember, \
         s.remember_for, s.skipped, s.handled_at, s.data, c.data AS client_data \
         FROM consent_sessions s LEFT JOIN clients c ON c.id = s.client_id WHERE s.subject = ?1 AND s.skipped = 0 \
         AND (?2 = '' OR s.login_session_id = ?2) AND ",
        unexpired!("5"),
        " ORDER BY s.rowid LIMIT ?3 OFFSET ?4"
    ))
    .bind(subject)
    .bind(login_session_id)
    .bind(limit)
    .bind(offset)
    .bind(now);
    // The same filter as the page.
    let count = Query::new(concat!(
        "SELECT COUNT(*) AS n FROM consent_sessions s WHERE s.subject = ?1 AND s.skipped = 0 \
         AND (?2 = '' OR s.login_session_id = ?2) AND ",
        unexpired!("3")
    ))
    .bind(subject)
    .bind(login_session_id)
    .bind(now);
    let results = p.sql_batch(vec![page, count]).await?;
    let rows = results
        .first()
        .map(|r| {
            r.rows
                .iter()
                .map(|r| ListedConsent {
                    pk: col_i64(r, "pk"),
                    row: consent_row(r),
                    client: serde_json::from_str(&col_str(r, "client_data")).ok(),
                })
                .collect()
        })
        .unwrap_or_default();
    let total = results.get(1).and_then(|r| r.rows.first()).map(|r| col_i64(r, "n")).unwrap_or(0);
    Ok((rows, total))
}

/// Which consents a revocation removes (Hydra's three combinations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentSelector {
    SubjectClient { subject: String, client: String },
    Subject(String),
    RequestId(String),
}

/// The statements revoking the selected consents, one transaction: the chains of their grants
/// exactly as [`crate::store::tokens::revoke_chain`] revokes one chain (JWT `jti`s into
/// `revoked_jtis`, every token row of the chain deleted), their unredeemed authorization codes,
/// accepted device grants not yet redeemed (then refused), and the consent rows themselves.
/// `?1`/`?2` select the consents.
macro_rules! revocation {
    ($sel:literal) => {
        [
            concat!(
                "INSERT INTO revoked_jtis (jti, expires_at) SELECT jti, COALESCE(expires_at, 0) FROM tokens \
                 WHERE kind = 'access_token' AND jti IS NOT NULL AND request_id IN (SELECT id FROM consent_sessions WHERE ",
                $sel,
                ") ON CONFLICT (jti) DO NOTHING"
            ),
            concat!("DELETE FROM tokens WHERE request_id IN (SELECT id FROM consent_sessions WHERE ", $sel, ")"),
            concat!(
                "DELETE FROM authorization_codes WHERE request_id IN (SELECT id FROM consent_sessions WHERE ",
                $sel,
                ")"
            ),
            concat!(
                "UPDATE device_codes SET state = 'rejected' WHERE state = 'accepted' AND consent_request_id IN \
                 (SELECT id FROM consent_sessions WHERE ",
                $sel,
                ")"
            ),
            concat!("DELETE FROM consent_sessions WHERE ", $sel),
        ]
    };
}

const BY_SUBJECT_CLIENT: [&str; 5] = revocation!("subject = ?1 AND client_id = ?2");
const BY_SUBJECT: [&str; 5] = revocation!("subject = ?1");
const BY_ID: [&str; 5] = revocation!("id = ?1");

/// Revoke consents and every access and refresh token of their grants, at once (one batch).
/// Returns the number of consent sessions removed.
pub async fn revoke_consents<P: Platform>(p: &P, selector: &ConsentSelector) -> PResult<u64> {
    let (statements, a, b) = match selector {
        ConsentSelector::SubjectClient { subject, client } => (BY_SUBJECT_CLIENT, subject.as_str(), Some(client)),
        ConsentSelector::Subject(subject) => (BY_SUBJECT, subject.as_str(), None),
        ConsentSelector::RequestId(id) => (BY_ID, id.as_str(), None),
    };
    let batch = statements
        .iter()
        .map(|sql| {
            let q = Query::new(sql).bind(a);
            match b {
                Some(b) => q.bind(b),
                None => q,
            }
        })
        .collect();
    let results = p.sql_batch(batch).await?;
    Ok(results.last().map(|r| r.changes).unwrap_or(0))
}

/// Delete every login session of a subject (no logout notifications, as in Hydra).
pub async fn delete_subject_login_sessions<P: Platform>(p: &P, subject: &str) -> PResult<u64> {
    Ok(p.sql(Query::new("DELETE FROM login_sessions WHERE subject = ?1").bind(subject)).await?.changes)
}

/// The clients to notify of the end of login session `?1` (a consent of that session, and a
/// front- or back-channel logout URI), read in the same transaction as the session's deletion:
/// a failure afterwards can no longer cost the notifications once the session is gone. `?2` is
/// the session's subject (an expression over the other parameters), `tail` a further condition.
macro_rules! clients_of_session {
    ($subject:literal, $tail:literal) => {
        concat!(
            "SELECT data FROM clients WHERE id IN \
             (SELECT client_id FROM consent_sessions WHERE login_session_id = ?1 AND subject = ",
            $subject,
            ") AND (json_extract(data, '$.frontchannel_logout_uri') != '' OR json_extract(data, '$.backchannel_logout_uri') != '')",
            $tail,
            " ORDER BY pk"
        )
    };
}

fn clients_of(result: Option<&crate::platform::QueryResult>) -> Vec<Client> {
    result
        .map(|r| r.rows.iter().filter_map(|row| serde_json::from_str::<Client>(&col_str(row, "data")).ok()).collect())
        .unwrap_or_default()
}

/// Delete one login session; when this call deleted it (of several concurrent deletions
/// exactly one does, which makes back-channel logout at most once), the clients to notify, read
/// in the same transaction.
pub async fn delete_login_session<P: Platform>(p: &P, sid: &str) -> PResult<Option<Vec<Client>>> {
    let results = p
        .sql_batch(vec![
            Query::new(clients_of_session!("(SELECT subject FROM login_sessions WHERE id = ?1)", "")).bind(sid),
            Query::new("DELETE FROM login_sessions WHERE id = ?1 RETURNING subject").bind(sid),
        ])
        .await?;
    let deleted = results.get(1).is_some_and(|r| !r.rows.is_empty());
    Ok(deleted.then(|| clients_of(results.first())))
}

/// The subject of an unexpired, remembered login session.
pub async fn login_session_subject<P: Platform>(p: &P, sid: &str, now: i64) -> PResult<Option<String>> {
    Ok(crate::store::flows::remembered_session(p, sid, now).await?.map(|s| s.subject))
}

/// What redeeming a logout verifier did.
#[derive(Debug, Clone, Default)]
pub struct LogoutRedeemed {
    /// This request won the verifier's marker.
    pub won: bool,
    /// ... and deleted the session.
    pub deleted: bool,
    /// The clients to notify (when it deleted the session).
    pub clients: Vec<Client>,
}

/// Redeem a logout verifier: its marker, the clients to notify and the deletion of the login
/// session `sid` of `subject`, the last two only if this request won the marker. One
/// transaction.
pub async fn redeem_logout<P: Platform>(
    p: &P,
    claim: &Claim,
    request_url: &str,
    now: i64,
    marker_expires_at: i64,
    sid: &str,
    subject: &str,
) -> PResult<LogoutRedeemed> {
    let results = p
        .sql_batch(vec![
            crate::store::flows::insert_marker(claim, request_url, now, marker_expires_at),
            Query::new(clients_of_session!(
                "?2",
                " AND EXISTS (SELECT 1 FROM login_sessions WHERE id = ?1 AND subject = ?2) \
                 AND EXISTS (SELECT 1 FROM flow_markers WHERE id = ?3 AND claim = ?4)"
            ))
            .bind(sid)
            .bind(subject)
            .bind(&claim.marker)
            .bind(&claim.value),
            Query::new(
                "DELETE FROM login_sessions WHERE id = ?1 AND subject = ?2 \
                 AND EXISTS (SELECT 1 FROM flow_markers WHERE id = ?3 AND claim = ?4)",
            )
            .bind(sid)
            .bind(subject)
            .bind(&claim.marker)
            .bind(&claim.value),
        ])
        .await?;
    let changed = |i: usize| results.get(i).map(|r| r.changes == 1).unwrap_or(false);
    let (won, deleted) = (changed(0), changed(2));
    Ok(LogoutRedeemed { won, deleted, clients: if deleted { clients_of(results.get(1)) } else { Vec::new() } })
}
