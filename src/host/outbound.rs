//! Outbound HTTP on the host: answers a test serves per method and URL (a client's `jwks_uri`,
//! the token hook, a relying party's back-channel logout URI), and a record of every request the
//! server sent, with its outcome. Bounds as in the Worker (`src/worker/platform.rs`): a GET
//! reads a 200's body only, at most 64 KiB, within 5 s; a POST gives up after its timeout and
//! reads at most 5 MiB.

/// What a served URL answers, and after how long.
#[derive(Debug, Clone)]
pub struct Stub {
    pub status: u16,
    pub body: Vec<u8>,
    /// How long the answer takes; at or beyond the caller's timeout it never arrives.
    pub delay_ms: i64,
}

/// One request the server sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The location (isolate) that sent it.
    pub location: String,
    /// When it was sent (host clock, ms).
    pub at_ms: i64,
    /// The status it got, or why there was none.
    pub outcome: Result<u16, String>,
}

impl Sent {
    /// A parameter of a form-encoded body (`logout_token` of a back-channel logout).
    pub fn form_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(&self.body).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }
}

/// The Worker's bounds (`src/worker/platform.rs`).
pub const GET_TIMEOUT_MS: u64 = 5_000;
const GET_MAX_BODY: usize = 64 * 1024;
const POST_MAX_BODY: usize = 5 << 20;

#[derive(Default)]
pub struct Outbound {
    stubs: Vec<(&'static str, String, Stub)>,
    pub sent: Vec<Sent>,
}

/// One exchange as the caller sees it, and how long it took (the host clock advances by it).
pub struct Exchange {
    pub result: Result<(u16, Vec<u8>), String>,
    pub elapsed_ms: i64,
}

impl Outbound {
    pub fn serve(&mut self, method: &'static str, url: &str, stub: Stub) {
        self.stubs.retain(|(m, u, _)| !(*m == method && u == url));
        self.stubs.push((method, url.to_string(), stub));
    }

    /// Send a request: the served answer within `timeout_ms`, bounded as the Worker bounds it.
    pub fn exchange(&mut self, request: Sent, timeout_ms: u64) -> Exchange {
        let stub = self.stubs.iter().find(|(m, u, _)| *m == request.method && *u == request.url).map(|(_, _, s)| s);
        let exchange = match stub {
            None => Exchange {
                result: Err(format!("fetch {}: connection refused (nothing served on the host platform)", request.url)),
                elapsed_ms: 0,
            },
            Some(s) if s.delay_ms >= timeout_ms as i64 => Exchange {
                result: Err(format!("no answer from {} within {timeout_ms} ms", request.url)),
                elapsed_ms: timeout_ms as i64,
            },
            Some(s) => {
                let result = match request.method {
                    "GET" if s.status != 200 => Ok((s.status, Vec::new())),
                    "GET" if s.body.len() > GET_MAX_BODY => {
                        Err(format!("response from {} is larger than {GET_MAX_BODY} bytes", request.url))
                    }
                    _ if s.body.len() > POST_MAX_BODY => {
                        Err(format!("response from {} is larger than {POST_MAX_BODY} bytes", request.url))
                    }
                    _ => Ok((s.status, s.body.clone())),
                };
                Exchange { result, elapsed_ms: s.delay_ms }
            }
        };
        let outcome = exchange.result.as_ref().map(|(status, _)| *status).map_err(Clone::clone);
        self.sent.push(Sent { outcome, ..request });
        exchange
    }
}
