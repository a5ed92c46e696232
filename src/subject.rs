//! Subject identifiers (OpenID Connect Core §8): the `sub` a client sees in ID tokens and at
//! `/userinfo`. A `public` client sees the subject the login app named. A `pairwise` client sees
//! `hex(SHA-256(sector ‖ subject ‖ salt))`, Hydra's formula, so clients of different sectors
//! cannot correlate a user, and a client accepted here keeps the values Hydra gave it (same
//! salt). Access tokens, introspection (`sub`, with `obfuscated_subject` beside it)
//! and the admin API keep the real subject.
//!
//! The sector is the client's `sector_identifier_uri` as registered (Hydra hashes the whole
//! URI), whose document must list the client's redirect URIs (`clients::sector`); else the host
//! of its redirect URIs, as written (Hydra's `url.Host`). A host vouches for a sector only when
//! codes and tokens go to it: every redirect URI must then be https on that one host. A custom
//! scheme (`evil://victim.example/cb` reaches whichever app claims `evil:`) or a loopback
//! address (every native app's) proves nothing, so those clients need a `sector_identifier_uri`.

use sha2::{Digest, Sha256};

use crate::clients::model::Client;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::http::url::{Host, Url};

pub const PAIRWISE: &str = "pairwise";

/// The sector of a pairwise client, or why it has none (a sentence).
pub fn sector(client: &Client) -> Result<String, String> {
    let redirects = client.redirect_uris.as_deref().unwrap_or_default();
    if !client.sector_identifier_uri.is_empty() {
        // The document vouches through the redirect URIs it lists; a registrant must list some
        // (`clients::validate`), an operator may name a sector for a client without any.
        return Ok(client.sector_identifier_uri.clone());
    }
    let needs_document =
        |why: &str| format!("A pairwise client {why} needs a sector_identifier_uri (OpenID Connect Core §8.1).");
    let mut sector: Option<&str> = None;
    for uri in redirects {
        let public_https = Url::parse(uri).is_ok_and(|u| u.scheme() == "https" && public_host(&u));
        // Validation admits https redirect URIs only as `https://host[:port]...` without user
        // information: the authority as written is Hydra's `url.Host`.
        let Some(host) = crate::http::url::written_authority(uri).filter(|_| public_https) else {
            return Err(needs_document("with a redirect URI that is not https on a public host"));
        };
        match sector {
            Some(seen) if seen != host => return Err(needs_document("whose redirect_uris have different hosts")),
            _ => sector = Some(host),
        }
    }
    sector.map(str::to_string).ok_or_else(|| needs_document("without redirect_uris"))
}

/// A host that stands for one party on the internet: public IP addresses (the rules of every
/// URL the server fetches), or domain names of at least two labels that are not loopback names.
/// Private, loopback and single-label hosts are every LAN's or every device's.
fn public_host(u: &Url) -> bool {
    // The fetch rules already refuse loopback names and every non-public IP address.
    crate::http::outbound::check(u, false).is_ok()
        && match u.host() {
            Some(Host::Domain(d)) => d.trim_end_matches('.').contains('.'),
            _ => true,
        }
}

/// Hydra's pairwise identifier: lower-case hex of SHA-256 over sector, subject and salt.
pub fn pairwise(sector: &str, subject: &str, salt: &str) -> String {
    let mut h = Sha256::new();
    h.update(sector.as_bytes());
    h.update(subject.as_bytes());
    h.update(salt.as_bytes());
    crate::crypto::hex(&h.finalize())
}

/// Whether `client` may have pairwise identifiers on this server: pairwise is configured and
/// the client's access tokens are opaque (a JWT access token would carry the real subject to
/// the client, as Hydra notes when it turns pairwise off under the JWT strategy).
pub fn pairwise_available(cfg: &Config, client: &Client) -> Result<(), String> {
    if cfg.subject_types.pairwise_salt.is_none() {
        return Err(
            "Subject type pairwise is not enabled on this server (OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES).".into()
        );
    }
    if crate::token::issue::issues_jwt(cfg, client) {
        return Err("Subject type pairwise needs opaque access tokens: a JWT access token would show the client the real subject. Set access_token_strategy to \"opaque\".".into());
    }
    Ok(())
}

/// The subject types `client` may have, as Hydra decides them: `pairwise` when configured and
/// the client's access tokens are opaque, `public` when configured or when pairwise is not
/// available (there is always one). Discovery asks for a client with the server's defaults.
pub fn supported(cfg: &Config, client: &Client) -> Vec<&'static str> {
    let pairwise = pairwise_available(cfg, client).is_ok();
    let public = cfg.subject_types.public || !pairwise;
    [("public", public), (PAIRWISE, pairwise)].into_iter().filter(|(_, on)| *on).map(|(name, _)| name).collect()
}

/// The `sub` `client` sees for `subject`; `forced` is the login app's
/// `force_subject_identifier` (used for pairwise clients only, as in Hydra).
pub fn for_client(cfg: &Config, client: &Client, subject: &str, forced: &str) -> ApiResult<String> {
    if client.subject_type != PAIRWISE {
        return Ok(subject.to_string());
    }
    let misconfigured =
        |why: String| ApiError::invalid_request().with_hint(format!("OAuth 2.0 Client '{}': {why}", client.client_id));
    pairwise_available(cfg, client).map_err(misconfigured)?;
    if !forced.is_empty() {
        return Ok(forced.to_string());
    }
    let salt = cfg.subject_types.pairwise_salt.as_deref().unwrap_or_default();
    Ok(pairwise(&sector(client).map_err(misconfigured)?, subject, salt))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::test_config;

    fn pairwise_config(types: &str, strategy: &str) -> Config {
        crate::host::config(&[
            ("OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES", types),
            ("OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT", "salt-of-the-earth"),
            ("STRATEGIES_ACCESS_TOKEN", strategy),
        ])
        .unwrap()
    }

    fn client(redirects: &[&str], sector_uri: &str) -> Client {
        Client {
            client_id: "c1".into(),
            subject_type: PAIRWISE.into(),
            redirect_uris: Some(redirects.iter().map(|s| s.to_string()).collect()),
            sector_identifier_uri: sector_uri.into(),
            ..Default::default()
        }
    }

    #[test]
    fn pairwise_is_hydras_formula() {
        // printf '%s' 'https://rp.example/sector.jsonalicesalt-of-the-earth' | sha256sum
        assert_eq!(
            pairwise("https://rp.example/sector.json", "alice", "salt-of-the-earth"),
            "1da596dfdaea7809773a236eac5459fb105047ff231dc2834a1f7dabdafae4df"
        );
    }

    #[test]
    fn the_sector_is_the_uri_or_the_one_https_host_as_written() {
        assert_eq!(sector(&client(&["https://a.example/cb"], "https://s.example/x")).unwrap(), "https://s.example/x");
        assert_eq!(sector(&client(&["https://a.example/cb", "https://a.example/other?q"], "")).unwrap(), "a.example");
        // As Hydra hashes Go's `url.Host`: the authority as written.
        assert_eq!(sector(&client(&["https://A.example:443/cb"], "")).unwrap(), "A.example:443");
        assert_eq!(sector(&client(&["https://a.example:8443"], "")).unwrap(), "a.example:8443");
        for (uris, why) in [
            (&["https://a.example/cb", "https://b.example/cb"][..], "different hosts"),
            (&["https://a.example/cb", "https://a.example:8443/cb"], "different hosts"),
            (&["https://a.example/cb", "https://A.example/cb"], "different hosts"),
            (&["com.example.app:/cb"], "not https"),
            (&["evil://victim.example/cb"], "not https"),
            (&["http://127.0.0.1:9000/cb"], "not https"),
            (&["https://localhost/cb"], "not https"),
            (&["https://localhost./cb"], "not https"),
            (&["https://[::ffff:127.0.0.1]/cb"], "not https"),
            (&["https://0.0.0.0/cb"], "not https"),
            (&["https://10.0.0.1/cb"], "not https"),
            (&["https://192.168.1.1/cb"], "not https"),
            (&["https://intranet/cb"], "not https"),
            (&[], "without redirect_uris"),
        ] {
            let e = sector(&client(uris, "")).unwrap_err();
            assert!(e.contains(why) && e.contains("sector_identifier_uri"), "{uris:?}: {e}");
        }
        assert_eq!(sector(&client(&["https://8.8.8.8/cb"], "")).unwrap(), "8.8.8.8");
        // An operator may name a document for a client without redirect URIs (a device client).
        assert_eq!(sector(&client(&[], "https://s.example/x")).unwrap(), "https://s.example/x");
    }

    #[test]
    fn public_clients_see_the_subject_and_pairwise_ones_their_sectors_value() {
        let cfg = pairwise_config("public,pairwise", "opaque");
        let mut public = client(&["https://a.example/cb"], "");
        public.subject_type = "public".into();
        assert_eq!(for_client(&cfg, &public, "alice", "forced").unwrap(), "alice");
        let a = client(&["https://a.example/cb"], "");
        let a2 = client(&["https://a.example/other"], "");
        let b = client(&["https://b.example/cb"], "");
        let sub_a = for_client(&cfg, &a, "alice", "").unwrap();
        assert_eq!(sub_a, pairwise("a.example", "alice", "salt-of-the-earth"));
        assert_eq!(sub_a, for_client(&cfg, &a2, "alice", "").unwrap(), "one sector, one value");
        assert_ne!(sub_a, for_client(&cfg, &b, "alice", "").unwrap());
        assert_ne!(sub_a, for_client(&cfg, &a, "bob", "").unwrap());
        assert_eq!(for_client(&cfg, &a, "alice", "chosen").unwrap(), "chosen");
    }

    #[test]
    fn supported_types_follow_hydra() {
        let c = Client::default();
        assert_eq!(supported(&test_config(), &c), ["public"]);
        assert_eq!(supported(&pairwise_config("public,pairwise", "opaque"), &c), ["public", "pairwise"]);
        assert_eq!(
            supported(&pairwise_config("public,pairwise", "jwt"), &c),
            ["public"],
            "pairwise is off under JWT access tokens"
        );
        let only = pairwise_config("pairwise", "jwt");
        assert_eq!(supported(&only, &c), ["public"], "then public stands in, as in Hydra");
        let opaque = Client { access_token_strategy: "opaque".into(), ..Default::default() };
        assert_eq!(supported(&only, &opaque), ["pairwise"]);
    }

    #[test]
    fn pairwise_needs_the_configuration_and_opaque_tokens() {
        let a = client(&["https://a.example/cb"], "");
        let e = for_client(&test_config(), &a, "alice", "").unwrap_err();
        assert_eq!(e.error, "invalid_request");
        assert!(e.full_description(true).contains("not enabled"), "{e:?}");
        assert!(for_client(&pairwise_config("public,pairwise", "jwt"), &a, "alice", "").is_err());
        let mut opaque = a.clone();
        opaque.access_token_strategy = "opaque".into();
        assert!(for_client(&pairwise_config("public,pairwise", "jwt"), &opaque, "alice", "").is_ok());
        let mut jwt = a;
        jwt.access_token_strategy = "jwt".into();
        assert!(for_client(&pairwise_config("public,pairwise", "opaque"), &jwt, "alice", "").is_err());
    }
}
