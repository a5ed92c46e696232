//! `/admin/clients`: malformed, oversized and deeply nested JSON, invalid metadata of every kind,
//! JSON Patch abuse, forged page tokens, path tricks, missing or wrong admin tokens.

use reqwest::Method;

use super::common::jose::EcKey;
use super::common::unique;
use super::{Case, Expect, Fixture};
use Expect::*;

fn create(name: &str, body: &str) -> Case {
    Case::post(name, "/admin/clients").admin().json(body)
}

pub fn cases(fx: &Fixture) -> Vec<Case> {
    let id = &fx.rp.id;
    let private_key =
        serde_json::to_string(&EcKey::new(31, "p").jwk()).unwrap().replace("\"kty\"", "\"d\":\"AAAA\",\"kty\"");
    let nested = format!("{{\"metadata\": {}1{}}}", "{\"a\":".repeat(300), "}".repeat(300));
    let long_name = format!("{{\"client_name\": \"{}\"}}", "n".repeat((1 << 20) + 1));
    let mut v = vec![
        create("malformed JSON", "{\"client_name\": ").expect(Admin(400)),
        create("empty body", "").expect(Admin(400)),
        create("JSON array", "[1,2]").expect(Admin(400)),
        create("JSON string", "\"client\"").expect(Admin(400)),
        create("JSON null", "null").expect(Admin(400)),
        create("trailing garbage", "{} {}").expect(Admin(400)),
        create("nested 300 deep", &nested).expect(Admin(400)),
        create("over 1 MiB", &long_name).expect(Admin(413)),
        create("NUL bytes", "{\"client_name\": \"a\u{0}b\"").expect(Admin(400)),
        create("redirect_uris a string", "{\"redirect_uris\": \"https://a.example/cb\"}").expect(Admin(400)),
        create("scope a number", "{\"scope\": 5}").expect(Admin(400)),
        create("skip_consent a string", "{\"skip_consent\": \"yes\"}").expect(Admin(400)),
        create("client_id with a slash", "{\"client_id\": \"a/b\"}").expect(AdminError(400, "invalid_client_metadata")),
        create("client_id of 300 characters", &format!("{{\"client_id\": \"{}\"}}", "c".repeat(300))).expect(AdminError(400, "invalid_client_metadata")),
        create("client_id with CRLF", "{\"client_id\": \"a\\r\\nb\"}").expect(AdminError(400, "invalid_client_metadata")),
        create("existing client_id", &format!("{{\"client_id\": \"{id}\"}}")).expect(Admin(409)),
        create("unknown auth method", "{\"token_endpoint_auth_method\": \"client_secret_jwt\"}").expect(AdminError(400, "invalid_client_metadata")),
        create("HS256 assertion alg", "{\"token_endpoint_auth_signing_alg\": \"HS256\"}").expect(AdminError(400, "invalid_client_metadata")),
        create("secret too short", "{\"client_secret\": \"12345\"}").expect(AdminError(400, "invalid_client_metadata")),
        create("secret for a public client", "{\"client_secret\": \"123456789\", \"token_endpoint_auth_method\": \"none\"}")
            .expect(AdminError(400, "invalid_client_metadata")),
        create("redirect with a fragment", "{\"redirect_uris\": [\"https://a.example/cb#x\"]}").expect(AdminError(400, "invalid_redirect_uri")),
        create("redirect over http", "{\"redirect_uris\": [\"http://a.example/cb\"]}").expect(AdminError(400, "invalid_redirect_uri")),
        create("redirect javascript", "{\"redirect_uris\": [\"javascript:alert(1)\"]}").expect(AdminError(400, "invalid_redirect_uri")),
        create("redirect relative", "{\"redirect_uris\": [\"/cb\"]}").expect(AdminError(400, "invalid_redirect_uri")),
        create("redirect with CRLF", "{\"redirect_uris\": [\"https://a.example/cb\\r\\nx\"]}").expect(AdminError(400, "invalid_redirect_uri")),
        create("redirect non-ASCII", "{\"redirect_uris\": [\"https://a.example/\u{e9}\"]}").expect(AdminError(400, "invalid_redirect_uri")),
        create("101 redirect URIs", &format!("{{\"redirect_uris\": [{}]}}", vec!["\"https://a.example/cb\""; 101].join(","))).expect(AdminError(400, "invalid_client_metadata")),
        create("private key in jwks", &format!("{{\"jwks\": {{\"keys\": [{private_key}]}}}}")).expect(AdminError(400, "invalid_client_metadata")),
        create("junk key in jwks", "{\"jwks\": {\"keys\": [{\"kty\": \"EC\"}]}}").expect(AdminError(400, "invalid_client_metadata")),
        create("jwks not a set", "{\"jwks\": [1]}").expect(AdminError(400, "invalid_client_metadata")),
        create("jwks beside jwks_uri", "{\"jwks\": {\"keys\": []}, \"jwks_uri\": \"https://k.example/jwks\"}").expect(AdminError(400, "invalid_client_metadata")),
        create("jwks_uri to metadata service", "{\"jwks_uri\": \"https://169.254.169.254/latest\"}").expect(AdminError(400, "invalid_client_metadata")),
        create("jwks_uri to a private network", "{\"jwks_uri\": \"https://10.1.2.3/jwks\"}").expect(AdminError(400, "invalid_client_metadata")),
        create("jwks_uri over http", "{\"jwks_uri\": \"http://keys.example/jwks\"}").expect(AdminError(400, "invalid_client_metadata")),
        create("jwks_uri file", "{\"jwks_uri\": \"file:///etc/passwd\"}").expect(AdminError(400, "invalid_client_metadata")),
        create("backchannel logout to a private network", "{\"backchannel_logout_uri\": \"https://192.168.0.1/logout\"}")
            .expect(AdminError(400, "invalid_client_metadata")),
        create("sector identifier over http", "{\"sector_identifier_uri\": \"http://sector.example/\"}").expect(AdminError(400, "invalid_client_metadata")),
        create("request_uri to IPv6 unique-local", "{\"request_uris\": [\"https://[fd12::1]/r\"]}").expect(AdminError(400, "invalid_client_metadata")),
        create("CORS origin with a path", "{\"allowed_cors_origins\": [\"https://a.example/path\"]}").expect(AdminError(400, "invalid_client_metadata")),
        create("CORS origin with userinfo", "{\"allowed_cors_origins\": [\"https://u:p@a.example\"]}").expect(AdminError(400, "invalid_client_metadata")),
        create("scope with a quote", "{\"scope\": \"openid \\\"x\"}").expect(AdminError(400, "invalid_client_metadata")),
        create("unknown grant type", "{\"grant_types\": [\"password\"]}").expect(AdminError(400, "invalid_client_metadata")),
        create("unknown response type", "{\"response_types\": [\"code steal\"]}").expect(AdminError(400, "invalid_client_metadata")),
        create("pairwise subjects", "{\"subject_type\": \"pairwise\"}").expect(AdminError(400, "invalid_client_metadata")),
        create("lifespan not a duration", "{\"authorization_code_grant_access_token_lifespan\": \"1 year\"}").expect(AdminError(400, "invalid_client_metadata")),
        create("lifespan negative", "{\"authorization_code_grant_access_token_lifespan\": \"-1h\"}").expect(AdminError(400, "invalid_client_metadata")),
        create("lifespan overflowing", "{\"implicit_grant_access_token_lifespan\": \"9999999999999999999h\"}").expect(AdminError(400, "invalid_client_metadata")),
        create("post-logout redirect on another host", "{\"redirect_uris\": [\"https://a.example/cb\"], \"post_logout_redirect_uris\": [\"https://evil.example/\"]}")
            .expect(AdminError(400, "invalid_client_metadata")),
        create("access token strategy unknown", "{\"access_token_strategy\": \"plaintext\"}").expect(AdminError(400, "invalid_client_metadata")),
        // Authentication of the admin API itself.
        Case::post("no admin token", "/admin/clients").json("{}").expect(Admin(401)),
        Case::post("wrong admin token", "/admin/clients").bearer("not-the-admin-token-0123456789abcdef").json("{}").expect(Admin(401)),
        Case::post("admin token in Basic", "/admin/clients").basic("admin", super::ADMIN_TOKEN).json("{}").expect(Admin(401)),
        Case::get("v1 alias without a token", "/clients").expect(Admin(401)),
        // Reading, listing, replacing, deleting.
        Case::get("unknown client", "/admin/clients/no-such-client").admin().expect(Admin(404)),
        Case::get("encoded traversal", "/admin/clients/..%2F..%2Fkeys%2Fhydra.openid.id-token").admin().expect(Admin(404)),
        Case::get("too long id", format!("/admin/clients/{}", "x".repeat(300))).admin().expect(Admin(404)),
        Case::get("page_size not a number", "/admin/clients?page_size=ten").admin().expect(Admin(400)),
        Case::get("forged page_token", "/admin/clients?page_token=eyJhZnRlciI6MH0").admin().expect(Admin(400)),
        Case::get("SQL in page_token", "/admin/clients?page_token=1%27%20OR%201%3D1--").admin().expect(Admin(400)),
        Case::put("replace unknown client", "/admin/clients/no-such-client").admin().json("{}").expect(Admin(404)),
        Case::put("replace with malformed JSON", format!("/admin/clients/{id}")).admin().json("{").expect(Admin(400)),
        Case::put("replace with an http redirect", format!("/admin/clients/{id}"))
            .admin()
            .json("{\"redirect_uris\": [\"http://evil.example/cb\"]}")
            .expect(AdminError(400, "invalid_redirect_uri")),
        Case::new("delete unknown client", Method::DELETE, "/admin/clients/no-such-client").admin().expect(Admin(404)),
        Case::put("lifespans not an object", format!("/admin/clients/{id}/lifespans")).admin().json("[]").expect(Admin(400)),
        Case::put("lifespans wrong type", format!("/admin/clients/{id}/lifespans"))
            .admin()
            .json("{\"implicit_grant_id_token_lifespan\": 5}")
            .expect(Admin(400)),
        Case::put("lifespans junk duration", format!("/admin/clients/{id}/lifespans"))
            .admin()
            .json("{\"implicit_grant_id_token_lifespan\": \"5 days\"}")
            .expect(AdminError(400, "invalid_client_metadata")),
        Case::put("lifespans of an unknown client", "/admin/clients/no-such-client/lifespans").admin().json("{}").expect(Admin(404)),
    ];
    // JSON Patch.
    let patch =
        |name: &str, body: &str| Case::new(name, Method::PATCH, format!("/admin/clients/{id}")).admin().json(body);
    v.extend([
        patch("patch not an array", "{\"op\": \"add\"}").expect(Admin(400)),
        patch("patch unknown op", "[{\"op\": \"steal\", \"path\": \"/scope\"}]").expect(Admin(400)),
        patch("patch without path", "[{\"op\": \"remove\"}]").expect(Admin(400)),
        patch("patch client_id", "[{\"op\": \"replace\", \"path\": \"/client_id\", \"value\": \"x\"}]").expect(Admin(400)),
        patch("patch moving client_id away", "[{\"op\": \"move\", \"from\": \"/client_id\", \"path\": \"/owner\"}]").expect(Admin(400)),
        patch("patch a failing test", "[{\"op\": \"test\", \"path\": \"/scope\", \"value\": \"nope\"}]").expect(Admin(400)),
        patch("patch removing what is missing", "[{\"op\": \"remove\", \"path\": \"/no/such/field\"}]").expect(Admin(400)),
        patch("patch with a bad pointer", "[{\"op\": \"add\", \"path\": \"scope\", \"value\": \"x\"}]").expect(Admin(400)),
        patch("patch making metadata invalid", "[{\"op\": \"add\", \"path\": \"/redirect_uris/-\", \"value\": \"http://evil.example/\"}]")
            .expect(AdminError(400, "invalid_redirect_uri")),
        patch("patch a wrong type", "[{\"op\": \"replace\", \"path\": \"/redirect_uris\", \"value\": 7}]").expect(Admin(400)),
        patch("patch adding jwks_uri beside jwks", "[{\"op\": \"add\", \"path\": \"/jwks\", \"value\": {\"keys\": []}}, {\"op\": \"add\", \"path\": \"/jwks_uri\", \"value\": \"https://k.example/j\"}]")
            .expect(AdminError(400, "invalid_client_metadata")),
        // This one made json-patch panic while undoing (a 500 that aborted the isolate).
        patch("patch moving a field to the root, then failing", "[{\"op\": \"move\", \"from\": \"/scope\", \"path\": \"\"}, {\"op\": \"add\", \"path\": \"/scope\", \"value\": null}]")
            .expect(Admin(400)),
        patch("patch replacing the root with a string", "[{\"op\": \"replace\", \"path\": \"\", \"value\": \"x\"}]").expect(Admin(400)),
        Case::new("patch an unknown client", Method::PATCH, format!("/admin/clients/{}", unique("none"))).admin().json("[]").expect(Admin(404)),
    ]);
    v
}
