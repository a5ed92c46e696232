//! Login/consent flows: redeemed-verifier markers, login sessions, consent sessions.

use serde_json::Value;

use crate::platform::{col_i64, col_str, PResult, Platform, Query, QueryResult, ReadFrom};

/// What a redeeming request writes alongside its marker: the row is only written by the
/// request whose marker insert won.
#[derive(Debug, Clone)]
pub struct Claim {
    pub marker: String,
    pub value: String,
}

fn marker_query(id: &str) -> Query {
    Query::new("SELECT request_url FROM flow_markers WHERE id = ?1").bind(id)
}

fn request_url_of(r: &QueryResult) -> Option<String> {
    r.rows.first().map(|row| col_str(row, "request_url"))
}

/// The `request_url` of a redeemed flow, if its verifier was used (primary: guards a change).
pub async fn marker<P: Platform>(p: &P, id: &str) -> PResult<Option<String>> {
    Ok(request_url_of(&p.sql(marker_query(id)).await?))
}

/// The same, where a replica may answer: for the admin GETs' 410, which only informs the login,
/// consent or logout app (a replica that lags says 200 a moment longer; the verifier still
/// redeems only once, on the primary).
pub async fn marker_for_display<P: Platform>(p: &P, id: &str) -> PResult<Option<String>> {
    Ok(request_url_of(&p.sql_read(marker_query(id), ReadFrom::Replica).await?))
}

pub fn insert_marker(claim: &Claim, request_url: &str, now: i64, expires_at: i64) -> Query {
    Query::new(
        "INSERT INTO flow_markers (id, request_url, claim, used_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&claim.marker)
    .bind(request_url)
    .bind(&claim.value)
    .bind(now)
    .bind(expires_at)
}

#[derive(Debug, Clone)]
pub struct LoginSession {
    pub id: String,
    pub subject: String,
    pub authenticated_at: i64,
    pub remember: bool,
    pub identity_provider_session_id: String,
    pub expires_at: i64,
}

fn session_query(sid: &str, now: i64) -> Query {
    Query::new(
        "SELECT id, subject, authenticated_at, remember, identity_provider_session_id, expires_at \
         FROM login_sessions WHERE id = ?1 AND remember = 1 AND expires_at > ?2",
    )
    .bind(sid)
    .bind(now)
}

/// A remembered, unexpired login session, read on the primary (logout, session revocation).
pub async fn remembered_session<P: Platform>(p: &P, sid: &str, now: i64) -> PResult<Option<LoginSession>> {
    Ok(session_of(&p.sql(session_query(sid, now)).await?))
}

/// The same where a replica may answer, one at least as new as `bookmark` (the write that
/// created or last extended the session, carried in the session cookie) when given: whether a
/// new authorization request may skip the login. A session deleted meanwhile (logout, revocation)
/// may still be found by a replica that lags behind that deletion.
pub async fn remembered_session_from_replica<P: Platform>(
    p: &P,
    sid: &str,
    now: i64,
    bookmark: Option<&str>,
) -> PResult<Option<LoginSession>> {
    let from = bookmark.map(ReadFrom::AtLeast).unwrap_or(ReadFrom::Replica);
    Ok(session_of(&p.sql_read(session_query(sid, now), from).await?))
}

fn session_of(r: &QueryResult) -> Option<LoginSession> {
    r.rows.first().map(|row| LoginSession {
        id: col_str(row, "id"),
        subject: col_str(row, "subject"),
        authenticated_at: col_i64(row, "authenticated_at"),
        remember: col_i64(row, "remember") == 1,
        identity_provider_session_id: col_str(row, "identity_provider_session_id"),
        expires_at: col_i64(row, "expires_at"),
    })
}

/// Whose remembered consent the consent leg will look for: (client id, subject).
pub type RememberedFor<'a> = (&'a str, &'a str);

/// What redeeming a login verifier found: whether this request won the verifier (false: it
/// had been used already), whether the session a skipped login relied on still exists on the
/// primary (always true for a login that was not skipped), and the remembered grant's scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRedemption {
    pub won: bool,
    pub session_alive: bool,
    pub remembered: Option<Vec<String>>,
}

/// Redeem a login verifier: insert its marker and, if this request won, write the login
/// session. One transaction, which also reads the remembered consent the consent leg needs
/// (`remembered_for`), so that the whole login leg is one D1 round trip.
///
/// A skipped login (`skipped`: the session id and subject it found, possibly on a replica)
/// re-reads that session here, on the primary: a session revoked or logged out since must not
/// log anyone in. Its extension (`session`) then only updates the row, never inserts it again.
/// A session row never changes its subject: an existing row is only refreshed when the subject
/// is the same.
#[allow(clippy::too_many_arguments)]
pub async fn redeem_login<P: Platform>(
    p: &P,
    claim: &Claim,
    request_url: &str,
    now: i64,
    marker_expires_at: i64,
    skipped: Option<(&str, &str)>,
    session: Option<&LoginSession>,
    forced: Option<ForcedSubject<'_>>,
    remembered_for: Option<RememberedFor<'_>>,
) -> PResult<LoginRedemption> {
    let mut batch = vec![insert_marker(claim, request_url, now, marker_expires_at)];
    if let Some((sid, _)) = skipped {
        batch.push(session_query(sid, now));
    }
    // ?1-?6: the session's columns, ?7-?8: the claim both statements are conditional on.
    let bind_session = |q: Query, s: &LoginSession| {
        q.bind(&s.id)
            .bind(&s.subject)
            .bind(s.authenticated_at)
            .bind(s.remember)
            .bind(&s.identity_provider_session_id)
            .bind(s.expires_at)
            .bind(&claim.marker)
            .bind(&claim.value)
    };
    if let (Some(s), Some(_)) = (session, skipped) {
        let q = Query::new(
            "UPDATE login_sessions SET authenticated_at = ?3, remember = ?4, identity_provider_session_id = ?5, \
             expires_at = ?6 WHERE id = ?1 AND subject = ?2 AND expires_at > ?9 \
             AND EXISTS (SELECT 1 FROM flow_markers WHERE id = ?7 AND claim = ?8)",
        );
        batch.push(bind_session(q, s).bind(now));
    } else if let Some(s) = session {
        let q = Query::new(
            "INSERT INTO login_sessions (id, subject, authenticated_at, remember, identity_provider_session_id, expires_at) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM flow_markers WHERE id = ?7 AND claim = ?8) \
             ON CONFLICT (id) DO UPDATE SET authenticated_at = excluded.authenticated_at, \
             remember = excluded.remember, identity_provider_session_id = excluded.identity_provider_session_id, \
             expires_at = excluded.expires_at WHERE login_sessions.subject = excluded.subject",
        );
        batch.push(bind_session(q, s));
    }
    if let Some(f) = forced {
        batch.push(
            Query::new(
                "INSERT INTO forced_subject_identifiers (client_id, subject, obfuscated) SELECT ?1, ?2, ?3 \
                 WHERE EXISTS (SELECT 1 FROM flow_markers WHERE id = ?4 AND claim = ?5) \
                 ON CONFLICT (client_id, subject) DO UPDATE SET obfuscated = excluded.obfuscated",
            )
            .bind(f.client_id)
            .bind(f.subject)
            .bind(f.obfuscated)
            .bind(&claim.marker)
            .bind(&claim.value),
        );
    }
    let lookup = remembered_for.is_some();
    if let Some((client_id, subject)) = remembered_for {
        batch.push(remembered_grant_query(client_id, subject, now));
    }
    let results = p.sql_batch(batch).await?;
    let won = results.first().map(|r| r.changes == 1).unwrap_or(false);
    let session_alive = match skipped {
        None => true,
        Some((_, subject)) => results.get(1).and_then(session_of).is_some_and(|s| s.subject == subject),
    };
    let remembered = if lookup { results.last().and_then(grant_of) } else { None };
    Ok(LoginRedemption { won, session_alive, remembered })
}

/// A pairwise identifier the login app chose for `subject` at `client_id`.
#[derive(Clone, Copy)]
pub struct ForcedSubject<'a> {
    pub client_id: &'a str,
    pub subject: &'a str,
    pub obfuscated: &'a str,
}

/// The identifier the login app last forced for `subject` at `client_id`, if any.
pub async fn forced_subject<P: Platform>(p: &P, client_id: &str, subject: &str) -> PResult<Option<String>> {
    let q = Query::new("SELECT obfuscated FROM forced_subject_identifiers WHERE client_id = ?1 AND subject = ?2")
        .bind(client_id)
        .bind(subject);
    Ok(p.sql(q).await?.rows.first().map(|row| col_str(row, "obfuscated")))
}

/// The newest remembered, unexpired, not-itself-skipped consent of a subject for a client.
fn remembered_grant_query(client_id: &str, subject: &str, now: i64) -> Query {
    Query::new(
        "SELECT grant_scope FROM consent_sessions WHERE client_id = ?1 AND subject = ?2 AND remember = 1 AND skipped = 0 \
         AND (remember_for = 0 OR handled_at + remember_for > ?3) ORDER BY handled_at DESC LIMIT 1",
    )
    .bind(client_id)
    .bind(subject)
    .bind(now)
}

fn grant_of(r: &QueryResult) -> Option<Vec<String>> {
    r.rows.first().and_then(|row| serde_json::from_str(&col_str(row, "grant_scope")).ok())
}

#[derive(Debug, Clone)]
pub struct ConsentSessionRow {
    pub id: String,
    pub client_id: String,
    pub subject: String,
    pub login_session_id: String,
    pub grant_scope: Vec<String>,
    pub remember: bool,
    pub remember_for: i64,
    pub skipped: bool,
    pub handled_at: i64,
    pub data: Value,
}

/// The insert of a consent session, made only when `$guard` (an SQL condition on `?11` and `?12`,
/// the caller's single-use claim) holds; bind the row with [`ConsentSessionRow::bind_insert`].
macro_rules! insert_consent_where {
    ($guard:literal) => {
        concat!(
            "INSERT INTO consent_sessions (id, client_id, subject, login_session_id, grant_scope, remember, remember_for, skipped, handled_at, data) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE ",
            $guard
        )
    };
}
pub(crate) use insert_consent_where;

impl ConsentSessionRow {
    /// Binds `?1`..`?10` of [`insert_consent_where`].
    pub fn bind_insert(&self, q: Query) -> Query {
        q.bind(&self.id)
            .bind(&self.client_id)
            .bind(&self.subject)
            .bind(&self.login_session_id)
            .bind(serde_json::to_string(&self.grant_scope).expect("json"))
            .bind(self.remember)
            .bind(self.remember_for)
            .bind(self.skipped)
            .bind(self.handled_at)
            .bind(self.data.to_string())
    }
}

/// Redeem a consent verifier: marker, consent session and whatever else the response needs
/// (authorization code, implicit tokens), all in one transaction and all conditional on this
/// request having won the marker. Returns false when the verifier had been used already.
pub async fn redeem_consent<P: Platform>(
    p: &P,
    claim: &Claim,
    request_url: &str,
    now: i64,
    marker_expires_at: i64,
    consent: &ConsentSessionRow,
    more: Vec<Query>,
) -> PResult<bool> {
    let mut batch = vec![
        insert_marker(claim, request_url, now, marker_expires_at),
        consent
            .bind_insert(Query::new(insert_consent_where!(
                "EXISTS (SELECT 1 FROM flow_markers WHERE id = ?11 AND claim = ?12)"
            )))
            .bind(&claim.marker)
            .bind(&claim.value),
    ];
    batch.extend(more);
    super::claim_batch(p, batch).await
}

/// Mark a verifier used without writing anything else (a rejected flow).
pub async fn redeem_marker<P: Platform>(
    p: &P,
    claim: &Claim,
    request_url: &str,
    now: i64,
    marker_expires_at: i64,
) -> PResult<bool> {
    Ok(p.sql(insert_marker(claim, request_url, now, marker_expires_at)).await?.changes == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{block_on, TestPlatform};

    /// Which reads a replica may answer (docs/storage.md): the 410 of the admin GETs and the
    /// remembered-session lookup, the latter no older than the session cookie's bookmark. Every
    /// claim and what it guards run on the primary.
    #[test]
    fn stale_tolerant_reads_go_to_replicas_and_claims_to_the_primary() {
        let p = TestPlatform::new();
        block_on(marker_for_display(&p, "login:x")).unwrap();
        block_on(marker(&p, "logout:x")).unwrap();
        block_on(remembered_session_from_replica(&p, "sid", 1, Some("bm-7"))).unwrap();
        block_on(remembered_session_from_replica(&p, "sid", 1, None)).unwrap();
        block_on(remembered_session(&p, "sid", 1)).unwrap();
        let claim = Claim { marker: "login:x".into(), value: "c".into() };
        let r = block_on(redeem_login(&p, &claim, "u", 1, 2, None, None, None, Some(("client", "alice")))).unwrap();
        assert!(!r.won && r.remembered.is_none(), "the test database changes nothing");
        let calls = p.calls.borrow();
        assert!(calls[0].starts_with("sql_read Replica SELECT request_url"), "{calls:?}");
        assert!(calls[1].starts_with("sql SELECT request_url"), "{calls:?}");
        assert!(calls[2].starts_with("sql_read AtLeast(\"bm-7\") SELECT id, subject"), "{calls:?}");
        assert!(calls[3].starts_with("sql_read Replica SELECT id, subject"), "{calls:?}");
        assert!(calls[4].starts_with("sql SELECT id, subject"), "{calls:?}");
        assert_eq!(calls[5], "batch 2", "the login's claim and the remembered consent: one primary round trip");
    }
}
