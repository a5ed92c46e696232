//! Numbered platform calls and the faults planned for some of them.

/// What kind of platform call this was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Sql,
    SqlBatch,
    KvGet,
    KvPut,
    KvDelete,
    KvDeleteLater,
    Sign,
    Verify,
    Pbkdf2,
    GenerateJwk,
    /// AES-256-GCM of private keys at rest (WebCrypto in the Worker).
    AesGcm,
    /// A curve check of an imported JWK (WebCrypto's import in the Worker).
    CheckJwk,
    HttpGet,
    /// A POST during the request (the token hook) or after the response (back-channel logout).
    HttpPost,
    /// One event counted by a rate-limiting binding.
    RateLimit,
}

impl CallKind {
    /// Storage calls (D1 and KV); the others are crypto and fetch.
    pub fn is_storage(self) -> bool {
        matches!(
            self,
            CallKind::Sql
                | CallKind::SqlBatch
                | CallKind::KvGet
                | CallKind::KvPut
                | CallKind::KvDelete
                | CallKind::KvDeleteLater
        )
    }
}

/// How a call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The call fails and has no effect.
    Error,
    /// The call's effect lands (a write commits, a POST reaches its receiver, a rate-limit
    /// event is counted), but the caller gets an error, as when a response is lost or times out
    /// after D1 committed. Reads and crypto simply fail.
    Timeout,
}

/// One call made through the platform.
#[derive(Debug, Clone)]
pub struct Call {
    pub kind: CallKind,
    /// The SQL (first statement of a batch), KV key, algorithm, URL or rate-limit binding.
    pub detail: String,
    pub location: String,
    /// The fault this call got, if any.
    pub fault: Option<Fault>,
}

#[derive(Default)]
pub struct Faults {
    pub calls: Vec<Call>,
    /// (call index, fault), applied once each.
    pub plan: Vec<(usize, Fault)>,
}

impl Faults {
    pub fn start(&mut self) {
        self.calls.clear();
    }

    /// Record a call; the fault it must suffer, if one is planned for its index.
    pub fn enter(&mut self, kind: CallKind, detail: &str, location: &str) -> Option<Fault> {
        let index = self.calls.len();
        let fault = self.plan.iter().position(|(i, _)| *i == index).map(|p| self.plan.remove(p).1);
        self.calls.push(Call { kind, detail: detail.to_string(), location: location.to_string(), fault });
        fault
    }
}
