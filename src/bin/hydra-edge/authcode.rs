//! `perform authorization-code`: an example client on 127.0.0.1 that runs the authorization
//! code flow (with PKCE, state and nonce), prints the URL to open, exchanges the code that comes
//! back to its callback and shows the tokens. For manual tests and demos, as Hydra's is.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::api::{describe, Auth, Body};
use crate::callback_server::{respond, Request, Server};
use crate::cli::{ClientCredentials, Env};
use crate::error::Error;
use crate::tokens::{now, token_view};

#[derive(clap::Args, Clone)]
pub struct Args {
    #[command(flatten)]
    pub client: ClientCredentials,
    /// The port of the local callback server (0: any free port).
    #[arg(short = 'p', long, default_value_t = 4446)]
    pub port: u16,
    /// Scopes to request.
    #[arg(long, value_delimiter = ',', default_value = "offline,openid")]
    pub scope: Vec<String>,
    /// The OpenID Connect prompt parameter.
    #[arg(long, value_delimiter = ',')]
    pub prompt: Vec<String>,
    /// The OpenID Connect max_age parameter (-1: none).
    #[arg(long = "max-age", default_value_t = -1, allow_negative_numbers = true)]
    pub max_age: i64,
    /// Audiences to request.
    #[arg(long, value_delimiter = ',')]
    pub audience: Vec<String>,
    /// Force a redirect URL (default: http://127.0.0.1:PORT/callback).
    #[arg(long)]
    pub redirect: Option<String>,
    /// Force the authorization URL (default: ENDPOINT/oauth2/auth).
    #[arg(long = "auth-url")]
    pub auth_url: Option<String>,
    /// Force the token URL (default: ENDPOINT/oauth2/token).
    #[arg(long = "token-url")]
    pub token_url: Option<String>,
    /// Force a state value (insecure).
    #[arg(long)]
    pub state: Option<String>,
    /// The response mode: query (default) or form_post.
    #[arg(long = "response-mode")]
    pub response_mode: Option<String>,
    /// Do not open a browser.
    #[arg(long = "no-open")]
    pub no_open: bool,
    /// Keep serving after a flow ends (each flow gets a new state, nonce and PKCE verifier).
    #[arg(long = "no-shutdown")]
    pub no_shutdown: bool,
}

/// One flow's secrets and the URL that starts it.
struct Flow {
    state: String,
    verifier: String,
    url: String,
}

fn random_token(bytes: usize) -> Result<String, Error> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).map_err(|e| Error::Failed(format!("no randomness available: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The authorization URL for a flow.
fn auth_url(
    base: &str,
    client_id: &str,
    redirect: &str,
    a: &Args,
    state: &str,
    nonce: &str,
    challenge: &str,
) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", &a.scope.join(" "))
        .append_pair("state", state)
        .append_pair("nonce", nonce)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    if !a.audience.is_empty() {
        q.append_pair("audience", &a.audience.join(" "));
    }
    if !a.prompt.is_empty() {
        q.append_pair("prompt", &a.prompt.join(" "));
    }
    if a.max_age >= 0 {
        q.append_pair("max_age", &a.max_age.to_string());
    }
    if let Some(m) = a.response_mode.as_deref().filter(|m| !m.is_empty()) {
        q.append_pair("response_mode", m);
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{}", q.finish())
}

fn new_flow(base: &str, client_id: &str, redirect: &str, a: &Args) -> Result<Flow, Error> {
    let state = match &a.state {
        Some(s) if !s.is_empty() => s.clone(),
        _ => random_token(18)?,
    };
    let nonce = random_token(18)?;
    let verifier = random_token(32)?;
    let url = auth_url(base, client_id, redirect, a, &state, &nonce, &challenge_of(&verifier));
    Ok(Flow { state, verifier, url })
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> Vec<u8> {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head><body><h1>{t}</h1>{body}</body></html>",
        t = html_escape(title)
    )
    .into_bytes()
}

const HTML: &str = "text/html; charset=utf-8";

pub fn run(env: &Env, a: &Args) -> Result<(), Error> {
    let client_id =
        a.client.id().ok_or_else(|| Error::Usage("pass the client with --client-id (or OAUTH2_CLIENT_ID)".into()))?;
    let secret = a.client.secret();
    let server = Server::bind(a.port)
        .map_err(|e| Error::Failed(format!("cannot listen on 127.0.0.1:{}: {e} (choose another --port)", a.port)))?;
    let home = format!("http://127.0.0.1:{}/", server.port());
    let redirect = a.redirect.clone().filter(|r| !r.is_empty()).unwrap_or_else(|| format!("{home}callback"));
    let authorize = a.auth_url.clone().unwrap_or_else(|| env.api.url("/oauth2/auth"));
    let token_url = a.token_url.clone().unwrap_or_else(|| env.api.url("/oauth2/token"));
    let mut flow = new_flow(&authorize, &client_id, &redirect, a)?;

    eprintln!("Setting up home route on {home}");
    eprintln!("Setting up callback listener on {redirect}");
    eprintln!("Press Ctrl+C to end the process.");
    eprintln!("Open this URL in a browser to start the flow:\n\n\t{}\n", flow.url);
    if !a.no_open {
        open_browser(&home);
    }

    loop {
        let (req, mut stream) = server.next().map_err(|e| Error::Failed(format!("the callback server failed: {e}")))?;
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/") => {
                let body = format!(
                    "<p>An example OAuth 2.0 client for <code>{}</code>.</p><p><a href=\"{}\">Authorize application</a></p>",
                    html_escape(&client_id),
                    html_escape(&flow.url)
                );
                respond(&mut stream, 200, HTML, &page("hydra-edge example client", &body), &[]);
                continue;
            }
            ("GET", "/perform-flow") => {
                respond(&mut stream, 302, HTML, b"", &[("location", &flow.url)]);
                continue;
            }
            ("GET" | "POST", path) if redirect_path(&redirect) == path => {}
            _ => {
                respond(&mut stream, 404, HTML, &page("Not found", ""), &[]);
                continue;
            }
        }
        let result = callback(env, &req, &flow, &client_id, &secret, &redirect, &token_url);
        match &result {
            Ok(tokens) => {
                let rows: String = ["access_token", "refresh_token", "id_token", "expires_in", "scope"]
                    .iter()
                    .filter_map(|k| tokens.get(*k).map(|v| (k, v)))
                    .map(|(k, v)| {
                        let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                        format!("<li>{k}: <code>{}</code></li>", html_escape(&v))
                    })
                    .collect();
                respond(&mut stream, 200, HTML, &page("Tokens", &format!("<ul>{rows}</ul>")), &[]);
                env.print(&token_view(tokens.clone(), now()))?;
            }
            Err(e) => {
                eprintln!("hydra-edge: {e}");
                respond(
                    &mut stream,
                    400,
                    HTML,
                    &page("The flow failed", &format!("<p>{}</p>", html_escape(&e.to_string()))),
                    &[],
                );
            }
        }
        drop(stream);
        if !a.no_shutdown {
            return result.map(|_| ());
        }
        flow = new_flow(&authorize, &client_id, &redirect, a)?;
        eprintln!("Ready for the next flow:\n\n\t{}\n", flow.url);
    }
}

fn redirect_path(redirect: &str) -> String {
    url::Url::parse(redirect).map(|u| u.path().to_string()).unwrap_or_else(|_| "/callback".into())
}

/// The callback: check state, take the error or the code, exchange the code.
fn callback(
    env: &Env,
    req: &Request,
    flow: &Flow,
    client_id: &str,
    secret: &Option<String>,
    redirect: &str,
    token_url: &str,
) -> Result<serde_json::Value, Error> {
    let params = req.params();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let error = get("error");
    if !error.is_empty() {
        let mut detail = serde_json::Map::new();
        for k in ["error", "error_description", "error_hint"] {
            detail.insert(k.into(), get(k).into());
        }
        return Err(Error::Failed(format!("the authorization server answered {}", describe(&detail.into()))));
    }
    if get("state") != flow.state {
        return Err(Error::Failed("the state of the callback does not match this flow's state".into()));
    }
    let code = get("code");
    if code.is_empty() {
        return Err(Error::Failed("the callback carries neither a code nor an error".into()));
    }
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect),
        ("code_verifier", flow.verifier.as_str()),
    ];
    let auth = match secret {
        Some(s) => Auth::Basic(client_id, s),
        None => {
            form.push(("client_id", client_id));
            Auth::None
        }
    };
    env.api.send_to("POST", token_url, auth, Body::Form(&form))?.json()
}

/// Best effort: the desktop's URL opener, detached; errors are ignored (the URL is printed).
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: Args,
    }

    #[test]
    fn the_authorization_url_carries_pkce_state_nonce_and_options() {
        let a = T::parse_from([
            "t",
            "--prompt",
            "login,consent",
            "--max-age",
            "0",
            "--audience",
            "api",
            "--response-mode",
            "form_post",
        ])
        .a;
        let url = auth_url("https://h/oauth2/auth", "c 1", "http://127.0.0.1:1/callback", &a, "st", "no", "ch");
        let (base, q) = url.split_once('?').unwrap();
        assert_eq!(base, "https://h/oauth2/auth");
        let q: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("client_id"), Some("c 1"));
        assert_eq!(get("scope"), Some("offline openid"));
        assert_eq!(get("prompt"), Some("login consent"));
        assert_eq!(get("max_age"), Some("0"));
        assert_eq!(get("code_challenge_method"), Some("S256"));
        assert_eq!(get("response_mode"), Some("form_post"));
        assert_eq!(get("audience"), Some("api"));
        assert_eq!(get("state"), Some("st"));
    }

    #[test]
    fn no_max_age_by_default_and_pkce_is_rfc7636() {
        let a = T::parse_from(["t"]).a;
        assert!(!auth_url("https://h/a", "c", "r", &a, "s", "n", "x").contains("max_age"));
        // RFC 7636 appendix B.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(html_escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
