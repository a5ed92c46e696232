//! The device flow: `/oauth2/device/auth`, the device code grant, `/oauth2/device/verify` and
//! `/admin/oauth2/auth/requests/device/accept`: bad clients and codes, forged and cross-purpose
//! challenges and verifiers, wrong user codes, polling too fast.

use reqwest::Method;

use super::{enc, Case, Expect, Fixture};
use Expect::*;

const GRANT: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code";

pub fn cases(fx: &Fixture) -> Vec<Case> {
    let d = &fx.device;
    let auth = |name: &str, body: String| Case::post(name, "/oauth2/device/auth").form(&body);
    let token = |name: &str, body: String| Case::post(name, "/oauth2/token").form(&body);
    let accept = |name: &str, challenge: &str| {
        Case::put(name, format!("/admin/oauth2/auth/requests/device/accept?device_challenge={}", enc(challenge)))
            .admin()
    };
    let verify = |name: &str, q: String| Case::get(name, format!("/oauth2/device/verify?{q}"));
    let id = enc(&d.id);
    let dc = enc(&fx.device_code);
    vec![
        Case::post("device authorization without a body", "/oauth2/device/auth").expect(OAuth(400, "invalid_request")),
        Case::post("device authorization as JSON", "/oauth2/device/auth")
            .json("{\"client_id\":\"x\"}")
            .expect(OAuth(400, "invalid_request")),
        auth("device authorization for an unknown client", "client_id=no-such-client".into())
            .basic("no-such-client", "x")
            .expect(OAuth(401, "invalid_client")),
        auth("device authorization with a wrong secret", format!("client_id={id}"))
            .basic(&d.id, "wrong")
            .expect(OAuth(401, "invalid_client")),
        auth("device authorization for a client without the grant", format!("client_id={}", enc(&fx.rp.id)))
            .basic(&fx.rp.id, &fx.rp.secret)
            .expect(OAuth(400, "invalid_grant")),
        auth("device authorization with a scope the client lacks", format!("client_id={id}&scope=admin"))
            .basic(&d.id, &d.secret)
            .expect(OAuth(400, "invalid_scope")),
        auth("device authorization with a junk scope", format!("client_id={id}&scope=openid.%22"))
            .basic(&d.id, &d.secret)
            .expect(OAuth(400, "invalid_scope")),
        auth("device authorization naming another client", format!("client_id={}", enc(&fx.rp.id)))
            .basic(&d.id, &d.secret)
            .expect(OAuth(400, "invalid_request")),
        auth(
            "device authorization with a foreign audience",
            format!("client_id={id}&audience=https%3A%2F%2Fevil.example"),
        )
        .basic(&d.id, &d.secret)
        .expect(OAuth(400, "invalid_request")),
        // An endpoint OAuth clients call: a registered error code, even for a wrong method.
        Case::get("GET device authorization", "/oauth2/device/auth").expect(OAuth(405, "invalid_request")),
        token("device grant without a code", format!("grant_type={GRANT}"))
            .basic(&d.id, &d.secret)
            .expect(OAuth(400, "invalid_request")),
        token("device grant with a forged code", format!("grant_type={GRANT}&device_code=ory_dc_forged.code"))
            .basic(&d.id, &d.secret)
            .expect(OAuth(400, "invalid_grant")),
        token(
            "device grant with an authorization code",
            format!("grant_type={GRANT}&device_code={}", enc(&fx.fresh_code)),
        )
        .basic(&d.id, &d.secret)
        .expect(OAuth(400, "invalid_grant")),
        token("device grant by another client", format!("grant_type={GRANT}&device_code={dc}"))
            .basic(&fx.rp.id, &fx.rp.secret)
            .expect(OAuth(400, "unauthorized_client")),
        token("device grant for a pending code", format!("grant_type={GRANT}&device_code={dc}"))
            .basic(&d.id, &d.secret)
            .expect(OAuth(400, "authorization_pending"))
            .changes(&["device_codes"]),
        token("device grant polled too fast", format!("grant_type={GRANT}&device_code={dc}"))
            .basic(&d.id, &d.secret)
            .expect(OAuth(400, "slow_down"))
            .changes(&["device_codes"]),
        token("device grant with two codes", format!("grant_type={GRANT}&device_code={dc}&device_code={dc}"))
            .basic(&d.id, &d.secret)
            .expect(OAuth(400, "invalid_request")),
        verify("a forged device verifier", "device_verifier=forged".into()).expect(ErrorPage("access_denied")),
        verify("a device challenge as device verifier", format!("device_verifier={}", enc(&fx.device_challenge)))
            .expect(ErrorPage("access_denied")),
        verify("a login verifier at the device endpoint", format!("login_verifier={}", enc(&fx.used_login_verifier)))
            .expect(ErrorPage("invalid_request")),
        verify(
            "a consent verifier at the device endpoint",
            format!("consent_verifier={}", enc(&fx.used_consent_verifier)),
        )
        .expect(ErrorPage("invalid_request")),
        verify("two verifiers at once", "device_verifier=a&login_verifier=b".into())
            .expect(ErrorPage("invalid_request")),
        verify("a malformed query", "user_code=%ZZ".into()).expect(ErrorPage("invalid_request")),
        Case::new("POST to device verification", Method::POST, "/oauth2/device/verify").expect(Admin(405)),
        Case::put("accept without a device challenge", "/admin/oauth2/auth/requests/device/accept")
            .admin()
            .json("{\"user_code\":\"abcdefgh\"}")
            .expect(AdminError(400, "invalid_request")),
        accept("accept a forged device challenge", "forged").json("{\"user_code\":\"abcdefgh\"}").expect(Admin(404)),
        accept("accept with a login challenge", &fx.login_challenge)
            .json("{\"user_code\":\"abcdefgh\"}")
            .expect(Admin(404)),
        accept("accept without a body", &fx.device_challenge).expect(Admin(400)),
        accept("accept with an empty user code", &fx.device_challenge)
            .json("{\"user_code\":\"\"}")
            .expect(AdminError(400, "invalid_request")),
        accept("accept with a wrong type", &fx.device_challenge).json("{\"user_code\":7}").expect(Admin(400)),
        accept("accept a wrong user code", &fx.device_challenge)
            .json("{\"user_code\":\"aaaaaaaa\"}")
            .expect(AdminError(400, "invalid_request"))
            .changes(&["device_user_code_attempts"]),
        accept("accept the device code as user code", &fx.device_challenge)
            .json(&format!("{{\"user_code\":\"{}\"}}", fx.device_code))
            .expect(AdminError(400, "invalid_request"))
            .changes(&["device_user_code_attempts"]),
        Case::put(
            "accept a user code without the admin token",
            format!("/admin/oauth2/auth/requests/device/accept?device_challenge={}", enc(&fx.device_challenge)),
        )
        .json("{\"user_code\":\"aaaaaaaa\"}")
        .expect(Admin(401)),
    ]
}
