//! `/oauth2/sessions/logout` and `/admin/oauth2/auth/requests/logout*`: bad hints, unregistered
//! redirects, forged, cross-purpose and reused challenges and verifiers.

use super::{enc, Case, Expect, Fixture};
use Expect::*;

pub fn cases(fx: &Fixture) -> Vec<Case> {
    let public = |q: &str| format!("/oauth2/sessions/logout?{q}");
    let admin = |path: &str, challenge: &str| {
        format!("/admin/oauth2/auth/requests/logout{path}?logout_challenge={}", enc(challenge))
    };
    let hint = enc(&fx.id_token);
    let lc = &fx.logout_challenge;
    let mut tampered_hint = fx.id_token.clone();
    tampered_hint.pop();
    tampered_hint.push(if fx.id_token.ends_with('A') { 'B' } else { 'A' });
    let parts: Vec<&str> = fx.id_token.split('.').collect();
    let alg_none = format!("eyJhbGciOiJub25lIn0.{}.", parts[1]);
    vec![
        Case::get("state without a hint", public("state=abcdefgh")).expect(ErrorPage("invalid_request")),
        Case::get("redirect without a hint", public("post_logout_redirect_uri=https%3A%2F%2Frp.example%2Fbye"))
            .expect(ErrorPage("invalid_request")),
        Case::get("a hint that is no JWT", public("id_token_hint=abc")).expect(ErrorPage("invalid_request")),
        Case::get("a tampered hint", public(&format!("id_token_hint={}", enc(&tampered_hint))))
            .expect(ErrorPage("invalid_request")),
        Case::get("an unsigned hint", public(&format!("id_token_hint={}", enc(&alg_none))))
            .expect(ErrorPage("invalid_request")),
        Case::get("an access token as hint", public(&format!("id_token_hint={}", enc(&fx.access_token))))
            .expect(ErrorPage("invalid_request")),
        Case::get(
            "an unregistered post-logout redirect",
            public(&format!("id_token_hint={hint}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F")),
        )
        .expect(ErrorPage("invalid_request")),
        Case::get(
            "a redirect URI that is no post-logout URI",
            public(&format!("id_token_hint={hint}&post_logout_redirect_uri={}", enc(super::REDIRECT))),
        )
        .expect(ErrorPage("invalid_request")),
        Case::get("a duplicated hint", public(&format!("id_token_hint={hint}&id_token_hint={hint}")))
            .expect(ErrorPage("invalid_request")),
        Case::get("a control character in state", public("state=a%0Db")).expect(ErrorPage("invalid_request")),
        Case::post("a JSON logout body", "/oauth2/sessions/logout")
            .json("{\"state\":\"x\"}")
            .expect(ErrorPage("invalid_request")),
        Case::get("a forged logout verifier", public("logout_verifier=forged")).expect(ErrorPage("invalid_request")),
        Case::get("a logout challenge as verifier", public(&format!("logout_verifier={}", enc(lc))))
            .expect(ErrorPage("invalid_request")),
        Case::get(
            "a login verifier as logout verifier",
            public(&format!("logout_verifier={}", enc(&fx.used_login_verifier))),
        )
        .expect(ErrorPage("invalid_request")),
        Case::get("a reused logout verifier", public(&format!("logout_verifier={}", enc(&fx.spent_logout_verifier))))
            .expect(Status(302)),
        Case::get("logout without a session", "/oauth2/sessions/logout").expect(Status(302)),
        Case::get("logout request without a challenge", "/admin/oauth2/auth/requests/logout")
            .admin()
            .expect(Admin(400)),
        Case::get("forged logout challenge", admin("", "forged")).admin().expect(Admin(404)),
        Case::get("login challenge as logout challenge", admin("", &fx.login_challenge)).admin().expect(Admin(404)),
        Case::get("logout verifier as logout challenge", admin("", &fx.spent_logout_verifier))
            .admin()
            .expect(Admin(404)),
        Case::get("rejected logout challenge", admin("", &fx.used_logout_challenge)).admin().expect(Status(410)),
        Case::put("accept a rejected logout", admin("/accept", &fx.used_logout_challenge)).admin().expect(Admin(409)),
        Case::put("reject a rejected logout", admin("/reject", &fx.used_logout_challenge)).admin().expect(Admin(409)),
        Case::put("accept a forged logout challenge", admin("/accept", "forged")).admin().expect(Admin(404)),
        Case::put("reject with a consent challenge", admin("/reject", &fx.consent_challenge))
            .admin()
            .expect(Admin(404)),
        Case::get("logout request without the admin token", admin("", lc)).expect(Admin(401)),
        Case::put("accept a logout without the admin token", admin("/accept", lc)).expect(Admin(401)),
        Case::get("GET on logout accept", admin("/accept", lc)).admin().expect(Admin(405)),
    ]
}
