//! Telling relying parties that a login session ended.
//!
//! * Back-channel (OpenID Connect Back-Channel Logout 1.0): a logout token (a JWT with `typ:
//!   logout+jwt`, signed with the ID-token key) POSTed to each client's `backchannel_logout_uri`
//!   after the user's response is sent, with a bounded timeout. The outcome is logged (client
//!   and status, never the token) and never shown to the user.
//! * Front-channel (Front-Channel Logout 1.0): a page that loads each client's
//!   `frontchannel_logout_uri` with `iss` and `sid` in an invisible iframe, then goes on to the
//!   post-logout URL.

use serde_json::{json, Value};

use crate::clients::model::Client;
use crate::crypto::{b64url, jws, random_bytes, uuid_v4};
use crate::ctx::Ctx;
use crate::error::ApiResult;
use crate::http::{add_query, html_escape, Response};
use crate::platform::{BackgroundPost, Platform};

/// How long a relying party has to answer a back-channel logout request.
pub const BACKCHANNEL_TIMEOUT_MS: u64 = 10_000;
/// The event a logout token carries.
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Lifetime of a logout token (its `exp`).
const LOGOUT_TOKEN_TTL: i64 = 120;
/// The front-channel page moves on after this long even if an iframe never loads.
const FRONTCHANNEL_WAIT_MS: u64 = 7_000;

/// The claims of a logout token for `client_id` (Back-Channel Logout 1.0 §2.4): no `nonce`,
/// the `sid` of the ended session and the logout event. As Hydra, no `sub` (the session id
/// identifies the session and may stand for a pairwise subject).
pub fn logout_token_claims(issuer: &str, client_id: &str, sid: &str, now: i64, jti: &str) -> Value {
    json!({
        "iss": issuer,
        "aud": [client_id],
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL,
        "jti": jti,
        "sid": sid,
        "events": { LOGOUT_EVENT: {} },
    })
}

/// Send a logout token to every client of `clients` that registered a back-channel URI, after
/// the response. Signing happens now (it needs the request's platform); the POSTs later.
pub async fn notify<P: Platform>(ctx: &Ctx<'_, P>, clients: &[Client], sid: &str) -> ApiResult<()> {
    for client in clients.iter().filter(|c| !c.backchannel_logout_uri.is_empty()) {
        let key = crate::token::issue::id_token_key(ctx, &client.id_token_signed_response_alg).await?;
        let now = ctx.p.now();
        let claims = logout_token_claims(&ctx.cfg.issuer, &client.client_id, sid, now, &uuid_v4());
        let token = jws::sign(ctx.p, &key, "logout+jwt", &claims).await?;
        let body = form_urlencoded::Serializer::new(String::new()).append_pair("logout_token", &token).finish();
        let client_id = client.client_id.clone();
        ctx.p.post_after_response(BackgroundPost {
            url: client.backchannel_logout_uri.clone(),
            headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
            body: body.into_bytes(),
            timeout_ms: BACKCHANNEL_TIMEOUT_MS,
            report: Box::new(move |outcome| report_line(&client_id, outcome)),
        });
    }
    Ok(())
}

/// The log line of one back-channel request: client and outcome, never the token.
pub fn report_line(client_id: &str, outcome: Result<u16, String>) -> String {
    let line = match outcome {
        Ok(status @ (200 | 204)) => json!({"msg": "backchannel_logout", "client_id": client_id, "status": status}),
        Ok(status) => json!({
            "msg": "backchannel_logout", "client_id": client_id, "status": status,
            "error": "the relying party did not answer 200 or 204",
        }),
        Err(e) => json!({"msg": "backchannel_logout", "client_id": client_id, "error": e}),
    };
    line.to_string()
}

/// The front-channel logout URLs of `clients`: each `frontchannel_logout_uri` with `iss` and
/// `sid` (always added, as Hydra does).
pub fn frontchannel_urls(issuer: &str, clients: &[Client], sid: &str) -> Vec<String> {
    clients
        .iter()
        .filter(|c| !c.frontchannel_logout_uri.is_empty())
        .map(|c| add_query(&c.frontchannel_logout_uri, &[("iss", issuer), ("sid", sid)]))
        .collect()
}

/// JSON for a `<script>` element: `<`, `>` and `&` escaped so no value can close the element.
fn script_json(v: &Value) -> String {
    v.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

/// `scheme://host[:port]` of a URL, for `frame-src`.
fn origin(url: &str) -> Option<String> {
    crate::http::url::Url::parse(url).ok()?.origin().map(str::to_string)
}

/// The page that runs front-channel logout: one invisible iframe per URL (created by a script
/// that waits for each to load, at most 7 s), then the redirect. Without scripts, the iframes
/// load from `<noscript>` and a refresh moves on. Only the iframes' origins may be framed, only
/// the page's own script (by nonce) runs, and the page itself cannot be framed.
pub fn frontchannel_page(urls: &[String], redirect_to: &str) -> Response {
    let nonce = b64url(&random_bytes::<16>());
    let mut origins: Vec<String> = urls.iter().filter_map(|u| origin(u)).collect();
    origins.sort();
    origins.dedup();
    let frame_src = if origins.is_empty() { "'none'".to_string() } else { origins.join(" ") };
    let static_frames: String = urls.iter().map(|u| format!("<iframe src=\"{}\"></iframe>", html_escape(u))).collect();
    let to = html_escape(redirect_to);
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Signing out</title>\
         <noscript><meta http-equiv=\"refresh\" content=\"{secs}; URL={to}\"></noscript>\
         <style nonce=\"{nonce}\">iframe{{position:absolute;left:0;top:0;width:0;height:0;border:0}}\
         #slow{{display:none}}</style></head><body>\
         <p>Signing you out of every application&hellip;</p>\
         <p id=\"slow\">This takes unusually long. <a href=\"{to}\">Continue</a></p>\
         <noscript>{static_frames}<p><a href=\"{to}\">Continue</a></p></noscript>\
         <script nonce=\"{nonce}\">(function(){{\
         var urls={urls_json},to={to_json},left=urls.length,gone=false;\
         function go(){{if(gone)return;gone=true;window.location.replace(to);}}\
         function loaded(){{left--;if(left<1)setTimeout(go,300);}}\
         urls.forEach(function(u){{var f=document.createElement('iframe');f.addEventListener('load',loaded);\
         f.addEventListener('error',loaded);f.src=u;document.body.appendChild(f);}});\
         if(urls.length===0)go();setTimeout(go,{wait});\
         setTimeout(function(){{document.getElementById('slow').style.display='block';}},2000);}})();</script>\
         </body></html>",
        secs = FRONTCHANNEL_WAIT_MS / 1000,
        urls_json = script_json(&json!(urls)),
        to_json = script_json(&json!(redirect_to)),
        wait = FRONTCHANNEL_WAIT_MS,
    );
    Response::html(200, html).no_store().set_header(
        "content-security-policy",
        &format!(
            "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; frame-src {frame_src}; frame-ancestors 'none'; base-uri 'none'"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logout_token_claims_follow_the_spec() {
        let c = logout_token_claims("https://auth.example", "rp", "sid-1", 100, "j");
        assert_eq!(c["aud"], json!(["rp"]));
        assert_eq!(c["sid"], "sid-1");
        assert_eq!(c["events"], json!({LOGOUT_EVENT: {}}));
        assert_eq!(c["exp"], 220);
        assert!(c.get("nonce").is_none() && c.get("sub").is_none());
    }

    #[test]
    fn frontchannel_urls_carry_iss_and_sid() {
        let mut a = Client { client_id: "a".into(), ..Default::default() };
        a.frontchannel_logout_uri = "https://a.example/logout?x=1".into();
        let b = Client { client_id: "b".into(), ..Default::default() };
        let urls = frontchannel_urls("https://auth.example", &[a, b], "s 1");
        assert_eq!(urls, vec!["https://a.example/logout?x=1&iss=https%3A%2F%2Fauth.example&sid=s+1"]);
    }

    #[test]
    fn frontchannel_page_is_locked_down() {
        let r = frontchannel_page(
            &["https://a.example/fc?sid=1".into(), "https://b.example:8443/fc".into()],
            "https://rp.example/bye?state=</script><script>alert(1)</script>",
        );
        let body = String::from_utf8(r.body.clone()).unwrap();
        assert!(!body.contains("</script><script>alert"), "{body}");
        let csp = r.header("content-security-policy").unwrap();
        assert!(csp.contains("frame-src https://a.example https://b.example:8443;"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'nonce-"), "{csp}");
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }

    #[test]
    fn report_lines_never_hold_a_token() {
        let ok = report_line("rp", Ok(200));
        assert!(ok.contains("\"status\":200") && !ok.contains("error"));
        assert!(report_line("rp", Ok(500)).contains("error"));
        assert!(report_line("rp", Err("timeout".into())).contains("timeout"));
    }
}
