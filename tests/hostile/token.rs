//! `/oauth2/token`: malformed bodies and encodings, every client-authentication attack (JOSE
//! included), forged, foreign and replayed codes, PKCE and redirect-URI mismatches.

use reqwest::Method;
use serde_json::json;

use super::common::jose::{assertion_claims, b64url, hs256, unsigned, EcKey, ASSERTION_TYPE};
use super::common::oauth::{REDIRECT, VERIFIER};
use super::common::unique;
use super::{enc, Case, Expect, Fixture};
use Expect::*;

pub fn cases(fx: &Fixture) -> Vec<Case> {
    let token = "/oauth2/token";
    let code_form = |code: &str| {
        format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={VERIFIER}",
            enc(code),
            enc(REDIRECT)
        )
    };
    // A request that fails client authentication, spread over the pool (per-client limits).
    let wrong_secret = |name: &str| {
        let c = fx.pooled();
        Case::post(name, token).basic(&c.id, "wrong-secret").form(&code_form("x"))
    };
    let aud = fx.s.url(token);
    let jwt_form = |assertion: &str| {
        format!(
            "grant_type=authorization_code&code=x&client_assertion_type={}&client_assertion={}",
            enc(ASSERTION_TYPE),
            enc(assertion)
        )
    };
    let key = &fx.jwt_key;
    let claims = |jti: &str| assertion_claims(&fx.jwt.id, &aud, jti, 300);
    let header = json!({"alg": "ES256", "kid": key.kid});
    let mut v = vec![
        Case::get("GET", token).expect(Status(405)),
        Case::new("PUT", Method::PUT, token).form("grant_type=authorization_code").expect(Status(405)),
        Case::post("empty body", token).basic(&fx.rp.id, &fx.rp.secret).expect(OAuth(400, "invalid_request")),
        Case::post("JSON body", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .json("{\"grant_type\":\"authorization_code\"}")
            .expect(OAuth(400, "invalid_request")),
        Case::post("text body", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .raw(b"grant_type=authorization_code".to_vec(), "text/plain")
            .expect(OAuth(400, "invalid_request")),
        Case::post("no grant_type", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form("code=x")
            .expect(OAuth(400, "invalid_request")),
        Case::post("grant_type twice", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form("grant_type=authorization_code&grant_type=authorization_code&code=x")
            .expect(OAuth(400, "invalid_request")),
        Case::post("password grant", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form("grant_type=password&username=a&password=b")
            .expect(OAuth(400, "unsupported_grant_type")),
        Case::post("made-up grant", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form("grant_type=urn%3Aevil%3Agrant")
            .expect(OAuth(400, "unsupported_grant_type")),
        Case::post("malformed escape", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form("grant_type=authorization_code&code=%ZZ")
            .expect(OAuth(400, "invalid_request")),
        Case::post("escape cut short", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form("grant_type=authorization_code&code=ab%")
            .expect(OAuth(400, "invalid_request")),
        Case::post("NUL in a value", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form("grant_type=authorization_code&code=a%00b")
            .expect(OAuth(400, "invalid_request")),
        Case::post("CRLF in a value", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form(&format!(
                "grant_type=authorization_code&code=x&redirect_uri={}%0D%0ASet-Cookie%3A+a%3Db",
                enc(REDIRECT)
            ))
            .expect(OAuth(400, "invalid_request")),
        Case::post("not UTF-8", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form("grant_type=authorization_code&code=%C3%28")
            .expect(OAuth(400, "invalid_request")),
        Case::post("raw control byte", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .raw(b"grant_type=authorization_code&code=a\x01b".to_vec(), "application/x-www-form-urlencoded")
            .expect(OAuth(400, "invalid_request")),
        Case::post("body over 1 MiB", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .raw(vec![b'a'; (1 << 20) + 10], "application/x-www-form-urlencoded")
            .expect(Status(413)),
        // Client authentication.
        Case::post("no client authentication", token).form(&code_form("x")).expect(OAuth(401, "invalid_client")),
        wrong_secret("wrong secret").expect(OAuth(401, "invalid_client")),
        Case::post("unknown client", token)
            .basic(&unique("nobody"), "secret")
            .form(&code_form("x"))
            .expect(OAuth(401, "invalid_client")),
        Case::post("empty Basic credentials", token)
            .header("authorization", "Basic Og==")
            .form(&code_form("x"))
            .expect(OAuth(401, "invalid_client")),
        Case::post("Basic not base64", token)
            .header("authorization", "Basic !!!notbase64")
            .form(&code_form("x"))
            .expect(OAuth(400, "invalid_request")),
        Case::post("Basic without a colon", token)
            .header("authorization", &format!("Basic {}", b64std(b"justanid")))
            .form(&code_form("x"))
            .expect(OAuth(400, "invalid_request")),
        Case::post("Basic with a malformed escape", token)
            .header("authorization", &format!("Basic {}", b64std(format!("{}:%ZZ", fx.rp.id).as_bytes())))
            .form(&code_form("x"))
            .expect(OAuth(400, "invalid_request")),
        Case::post("Basic not UTF-8", token)
            .header("authorization", &format!("Basic {}", b64std(b"\xff\xfe:\xff")))
            .form(&code_form("x"))
            .expect(OAuth(400, "invalid_request")),
        Case::post("two authentication methods", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form(&format!("{}&client_secret={}", code_form("x"), enc(&fx.rp.secret)))
            .expect(OAuth(400, "invalid_request")),
        Case::post("body client_id other than Basic", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form(&format!("{}&client_id={}", code_form("x"), enc(&fx.post.id)))
            .expect(OAuth(400, "invalid_request")),
        Case::post("post secret for a basic client", token)
            .form(&format!("{}&client_id={}&client_secret=whatever", code_form("x"), enc(&fx.pooled().id)))
            .expect(OAuth(401, "invalid_client")),
        Case::post("basic for a post client", token)
            .basic(&fx.post.id, &fx.post.secret)
            .form(&code_form("x"))
            .expect(OAuth(401, "invalid_client")),
        Case::post("public client with a secret", token)
            .form(&format!("{}&client_id={}&client_secret=anything", code_form("x"), enc(&fx.public.id)))
            .expect(OAuth(401, "invalid_client")),
        Case::post("confidential client without a secret", token)
            .form(&format!("{}&client_id={}", code_form("x"), enc(&fx.pooled().id)))
            .expect(OAuth(401, "invalid_client")),
        Case::post("client_id twice", token)
            .form(&format!("{}&client_id={}&client_id={}", code_form("x"), enc(&fx.public.id), enc(&fx.public.id)))
            .expect(OAuth(400, "invalid_request")),
        Case::post("client_id of 300 characters", token)
            .form(&format!("{}&client_id={}&client_secret=s", code_form("x"), "c".repeat(300)))
            .expect(OAuth(401, "invalid_client")),
        Case::post("secret of 8 KiB", token)
            .basic(&fx.pooled().id, &"s".repeat(8 * 1024))
            .form(&code_form("x"))
            .expect(OAuth(401, "invalid_client")),
        // private_key_jwt and JOSE attacks. (About 16 of these fail against the one jwt client:
        // keep them under its per-client limit of 20 failures a minute, or add a client.)
        Case::post("assertion of the wrong type", token)
            .form(&format!(
                "grant_type=authorization_code&code=x&client_assertion_type=urn%3Aevil&client_assertion={}",
                enc(&key.assertion(&fx.jwt.id, &aud, &unique("j"), 300))
            ))
            .expect(OAuth(400, "invalid_request")),
        Case::post("replayed assertion", token).form(&jwt_form(&fx.used_assertion)).expect(OAuth(400, "jti_known")),
        Case::post("assertion alg none", token)
            .form(&jwt_form(&unsigned(&claims(&unique("j")))))
            .expect(OAuth(401, "invalid_client")),
        Case::post("assertion alg None", token)
            .form(&jwt_form(&format!(
                "{}.{}.",
                b64url(br#"{"alg":"None"}"#),
                b64url(claims(&unique("j")).to_string().as_bytes())
            )))
            .expect(OAuth(401, "invalid_client")),
        Case::post("assertion HS256 keyed with the public key", token)
            .form(&jwt_form(&hs256(
                &json!({"alg": "HS256", "kid": key.kid}),
                &claims(&unique("j")),
                key.jwk().to_string().as_bytes(),
            )))
            .expect(OAuth(401, "invalid_client")),
        Case::post("assertion signed by a foreign key", token)
            .form(&jwt_form(&EcKey::new(99, &key.kid).sign(&header, &claims(&unique("j")))))
            .expect(OAuth(401, "invalid_client")),
        Case::post("assertion with a zero signature", token)
            .form(&jwt_form(&format!(
                "{}.{}",
                key.sign(&header, &claims(&unique("j"))).rsplit_once('.').unwrap().0,
                b64url(&[0u8; 64])
            )))
            .expect(OAuth(401, "invalid_client")),
        Case::post("assertion with an unknown kid", token)
            .form(&jwt_form(&key.sign(&json!({"alg": "ES256", "kid": "../../etc/passwd"}), &claims(&unique("j")))))
            .expect(OAuth(401, "invalid_client")),
        Case::post("assertion with an embedded jwk", token)
            .form(&jwt_form(
                &EcKey::new(98, "x")
                    .sign(&json!({"alg": "ES256", "jwk": EcKey::new(98, "x").jwk()}), &claims(&unique("j"))),
            ))
            .expect(OAuth(401, "invalid_client")),
        Case::post("assertion with a jku", token)
            .form(&jwt_form(
                &EcKey::new(97, "x")
                    .sign(&json!({"alg": "ES256", "jku": "https://evil.example/jwks"}), &claims(&unique("j"))),
            ))
            .expect(OAuth(401, "invalid_client")),
        Case::post("expired assertion", token)
            .form(&jwt_form(&key.assertion(&fx.jwt.id, &aud, &unique("j"), -30)))
            .expect(OAuth(401, "invalid_client")),
        Case::post("assertion for another audience", token)
            .form(&jwt_form(&key.assertion(&fx.jwt.id, "https://evil.example/token", &unique("j"), 300)))
            .expect(OAuth(401, "invalid_client")),
        Case::post("assertion living a week", token)
            .form(&jwt_form(&key.assertion(&fx.jwt.id, &aud, &unique("j"), 7 * 24 * 3600)))
            .expect(OAuth(401, "invalid_client")),
        Case::post("assertion with iss other than sub", token)
            .form(&jwt_form(&key.sign(&header, &{
                let mut c = claims(&unique("j"));
                c["iss"] = json!("someone-else");
                c
            })))
            .expect(OAuth(401, "invalid_client")),
        Case::post("assertion without jti", token)
            .form(&jwt_form(&key.sign(&header, &{
                let mut c = claims("");
                c.as_object_mut().unwrap().remove("jti");
                c
            })))
            .expect(OAuth(401, "invalid_client")),
        Case::post("assertion issued in the future", token)
            .form(&jwt_form(&key.sign(&header, &{
                let mut c = claims(&unique("j"));
                c["iat"] = json!(super::common::jose::now() + 3600);
                c
            })))
            .expect(OAuth(401, "invalid_client")),
        Case::post("assertion naming another client in the body", token)
            .form(&format!(
                "{}&client_id={}",
                jwt_form(&key.assertion(&fx.jwt.id, &aud, &unique("j"), 300)),
                enc(&fx.rp.id)
            ))
            .expect(OAuth(401, "invalid_client")),
        Case::post("assertion shaped like a JWE", token)
            .form(&jwt_form("a.b.c.d.e"))
            .expect(OAuth(401, "invalid_client")),
        Case::post("assertion of 20 KiB", token)
            .form(&jwt_form(&"a".repeat(20 * 1024)))
            .expect(OAuth(401, "invalid_client")),
        Case::post("assertion with a DER signature", token)
            .form(&jwt_form(&{
                let signed = key.sign(&header, &claims(&unique("j")));
                let input = signed.rsplit_once('.').unwrap().0.to_string();
                let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(&key.signing, input.as_bytes());
                format!("{input}.{}", b64url(sig.to_der().as_bytes()))
            }))
            .expect(OAuth(401, "invalid_client")),
        // Codes.
        Case::post("no code", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form("grant_type=authorization_code")
            .expect(OAuth(400, "invalid_request")),
        Case::post("code twice", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form(&format!("{}&code=x", code_form(&fx.fresh_code)))
            .expect(OAuth(400, "invalid_request")),
        Case::post("forged code", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form(&code_form("ory_ac_forged.signature"))
            .expect(OAuth(400, "invalid_grant")),
        Case::post("code with a tampered signature", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form(&code_form(&format!("{}x", fx.fresh_code)))
            .expect(OAuth(400, "invalid_grant")),
        Case::post("access token as a code", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form(&code_form(&fx.access_token))
            .expect(OAuth(400, "invalid_grant")),
        Case::post("replayed code", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form(&code_form(&fx.spent_code))
            .expect(OAuth(400, "invalid_grant")),
        Case::post("another client's code (post)", token)
            .form(&format!(
                "{}&client_id={}&client_secret={}",
                code_form(&fx.fresh_code),
                enc(&fx.post.id),
                enc(&fx.post.secret)
            ))
            .expect(OAuth(400, "invalid_grant")),
        Case::post("redirect_uri mismatch", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form(&format!(
                "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={VERIFIER}",
                enc(&fx.fresh_code),
                enc("https://evil.example/callback")
            ))
            .expect(OAuth(400, "invalid_grant")),
        Case::post("redirect_uri missing", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form(&format!("grant_type=authorization_code&code={}&code_verifier={VERIFIER}", enc(&fx.fresh_code)))
            .expect(OAuth(400, "invalid_grant")),
        Case::post("no code_verifier", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form(&format!("grant_type=authorization_code&code={}&redirect_uri={}", enc(&fx.fresh_code), enc(REDIRECT)))
            .expect(OAuth(400, "invalid_grant")),
        Case::post("wrong code_verifier", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form(&format!(
                "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
                enc(&fx.fresh_code),
                enc(REDIRECT),
                "a".repeat(43)
            ))
            .expect(OAuth(400, "invalid_grant")),
        Case::post("code_verifier with bad characters", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form(&format!(
                "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
                enc(&fx.fresh_code),
                enc(REDIRECT),
                enc(&"!".repeat(43))
            ))
            .expect(OAuth(400, "invalid_grant")),
        Case::post("code_verifier too short", token)
            .basic(&fx.rp.id, &fx.rp.secret)
            .form(&format!(
                "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier=short",
                enc(&fx.fresh_code),
                enc(REDIRECT)
            ))
            .expect(OAuth(400, "invalid_grant")),
    ];
    v.push(wrong_secret("wrong secret again from another address").expect(OAuth(401, "invalid_client")));
    v
}

fn b64std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
