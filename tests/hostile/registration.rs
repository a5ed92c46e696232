//! `/oauth2/register`: what a registrant may not choose, and registration access tokens that
//! are missing, wrong, another client's or used where they do not belong.

use reqwest::Method;

use super::{Case, Expect, Fixture};
use Expect::*;

/// Hydra's (herodot's) message for a malformed request, here in the `errorOAuth2` form.
const MALFORMED: &str = "The request was malformed or contained invalid parameters";

pub fn cases(fx: &Fixture) -> Vec<Case> {
    let register = |name: &str, body: &str| Case::post(name, "/oauth2/register").json(body);
    let item = format!("/oauth2/register/{}", fx.dcr_id);
    vec![
        register(
            "own secret",
            "{\"redirect_uris\": [\"https://rp.example/cb\"], \"client_secret\": \"chosen-secret\"}",
        )
        .expect(OAuth(400, MALFORMED)),
        register("metadata", "{\"metadata\": {\"role\": \"admin\"}}").expect(OAuth(400, "invalid_client_metadata")),
        register("skip_consent", "{\"skip_consent\": true}").expect(OAuth(400, "invalid_request")),
        register("access token strategy", "{\"access_token_strategy\": \"jwt\"}")
            .expect(OAuth(400, "invalid_client_metadata")),
        register("every scope", "{\"scope\": \"*\"}").expect(OAuth(400, "invalid_client_metadata")),
        register("a wildcard scope", "{\"scope\": \"openid admin.*\"}").expect(OAuth(400, "invalid_client_metadata")),
        register("an audience", "{\"audience\": [\"https://api.example\"]}")
            .expect(OAuth(400, "invalid_client_metadata")),
        register("a century of access", "{\"authorization_code_grant_access_token_lifespan\": \"876000h\"}")
            .expect(OAuth(400, "invalid_client_metadata")),
        register("refresh tokens for years", "{\"refresh_token_grant_refresh_token_lifespan\": \"87600h\"}")
            .expect(OAuth(400, "invalid_client_metadata")),
        register(
            "jwks_uri into the cloud metadata service",
            "{\"jwks_uri\": \"https://169.254.169.254/\", \"token_endpoint_auth_method\": \"private_key_jwt\"}",
        )
        .expect(OAuth(400, "invalid_client_metadata")),
        register("malformed JSON", "{\"scope\":").expect(OAuth(400, MALFORMED)),
        register("nested 300 deep", &format!("{{\"contacts\": {}\"a\"{}}}", "[".repeat(300), "]".repeat(300)))
            .expect(OAuth(400, MALFORMED)),
        Case::get("read without a token", &item).expect(Status(401)),
        Case::get("read with a wrong token", &item).bearer("ory_at_forged.signature").expect(Status(401)),
        Case::get("read with another client's token", &item).bearer(&fx.other_dcr_token).expect(Status(401)),
        Case::get("read with the admin token", &item).bearer(super::ADMIN_TOKEN).expect(Status(401)),
        Case::get("read with an access token", &item).bearer(&fx.access_token).expect(Status(401)),
        Case::put("update with a chosen secret", &item)
            .bearer(&fx.dcr_token)
            .json("{\"redirect_uris\": [\"https://rp.example/callback\"], \"client_secret\": \"chosen-secret-123\"}")
            .expect(Status(403)),
        Case::put("update with another client's token", &item)
            .bearer(&fx.other_dcr_token)
            .json("{\"redirect_uris\": [\"https://rp.example/callback\"]}")
            .expect(Status(401)),
        Case::put("update to a wildcard scope", &item)
            .bearer(&fx.dcr_token)
            .json("{\"redirect_uris\": [\"https://rp.example/callback\"], \"scope\": \"openid *\"}")
            .expect(OAuth(400, "invalid_client_metadata")),
        Case::new("delete with another client's token", Method::DELETE, &item)
            .bearer(&fx.other_dcr_token)
            .expect(Status(401)),
        Case::new("delete an unknown client", Method::DELETE, "/oauth2/register/no-such-client")
            .bearer(&fx.dcr_token)
            .expect(Status(401)),
        Case::get("read an id with a slash", "/oauth2/register/a%2Fb").bearer(&fx.dcr_token).expect(Status(401)),
    ]
}
