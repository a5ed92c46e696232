//! A client's `sector_identifier_uri` (OpenID Connect Registration §5): an https document, a
//! JSON array of URIs, that must list every redirect URI of the client. It is fetched whenever
//! a pairwise client is created or updated, so a registrant cannot claim a sector (and with it
//! the pairwise identifiers of another client) that does not vouch for it. Hydra fetches it for
//! every client; for a public one it decides nothing, so here it is not fetched (a stored
//! client whose document moved can still be updated, and no update waits on a fetch).

use serde_json::Value;

use super::model::Client;
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::platform::Platform;

/// Fetch and check the sector document of a pairwise client that names one (the URL itself
/// was checked by validation: https, a public host).
pub async fn check<P: Platform>(ctx: &Ctx<'_, P>, c: &Client) -> ApiResult<()> {
    if c.sector_identifier_uri.is_empty() || c.subject_type != crate::subject::PAIRWISE {
        return Ok(());
    }
    let refused =
        |why: String| ApiError::invalid_client_metadata().with_hint(format!("Field sector_identifier_uri: {why}"));
    let (status, body) = ctx
        .p
        .http_get(&c.sector_identifier_uri)
        .await
        .map_err(|_| refused("the document could not be fetched.".into()))?;
    if status != 200 {
        return Err(refused(format!("the document answered HTTP {status}.")));
    }
    check_document(&body, c.redirect_uris.as_deref().unwrap_or_default()).map_err(refused)
}

/// The document is a non-empty JSON array of strings that holds every redirect URI, compared
/// exactly (as `/oauth2/auth` compares them).
pub fn check_document(body: &[u8], redirect_uris: &[String]) -> Result<(), String> {
    let doc: Value = crate::ctx::json_from_bytes(body).map_err(|_| "the document is not JSON.".to_string())?;
    let listed: Vec<&str> = match doc.as_array() {
        Some(items) => items.iter().map(Value::as_str).collect::<Option<_>>(),
        None => None,
    }
    .ok_or_else(|| "the document must be a JSON array of URIs.".to_string())?;
    if listed.is_empty() {
        return Err("the document lists no URI.".into());
    }
    match redirect_uris.iter().find(|r| !listed.contains(&r.as_str())) {
        Some(missing) => Err(format!("the document does not list the redirect URI \"{missing}\".")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_must_list_every_redirect_uri() {
        let uris = vec!["https://a.example/cb".to_string(), "https://b.example/cb".to_string()];
        assert!(
            check_document(br#"["https://a.example/cb","https://b.example/cb","https://c.example/"]"#, &uris).is_ok()
        );
        assert!(check_document(br#"["https://x.example/"]"#, &[]).is_ok());
        for (body, expect) in [
            (&br#"["https://a.example/cb"]"#[..], "\"https://b.example/cb\""),
            (br#"["https://a.example/cb/","https://b.example/cb"]"#, "\"https://a.example/cb\""),
            (br#"[]"#, "no URI"),
            (br#"{"redirect_uris":["https://a.example/cb"]}"#, "JSON array"),
            (br#"["https://a.example/cb", 7]"#, "JSON array"),
            (b"<html>", "not JSON"),
        ] {
            let e = check_document(body, &uris).unwrap_err();
            assert!(e.contains(expect), "expected {expect:?} in {e:?}");
        }
    }
}
