//! Hydra's keyset pagination of admin lists (clients, consent sessions, trusted issuers):
//! `page_size`, an opaque `page_token` (the last row's key, sealed, 7 days) and a `Link` header
//! with `rel="first"` and, unless this is the last page, `rel="next"`.

use serde::{Deserialize, Serialize};

use crate::crypto::seal::{self, Purpose};
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::Request;
use crate::platform::Platform;

pub const DEFAULT_PAGE_SIZE: i64 = 100;
pub const MAX_PAGE_SIZE: i64 = 500;
/// Page tokens stay usable this long.
const PAGE_TOKEN_TTL: i64 = 7 * 24 * 3600;

#[derive(Serialize, Deserialize)]
struct PageToken {
    /// The list continues after this row.
    after: i64,
}

/// Page size: Hydra reads values below 1 as the default and clamps values above the maximum;
/// anything that is not a number is a 400.
pub fn page_size(raw: Option<&str>) -> ApiResult<i64> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(s) => {
            let n: i64 = s
                .parse()
                .map_err(|_| ApiError::bad_request(format!("The page_size must be an integer, got \"{s}\".")))?;
            Ok(if n < 1 { DEFAULT_PAGE_SIZE } else { n.min(MAX_PAGE_SIZE) })
        }
    }
}

/// The row key the request's `page_token` continues after (0 without one); `None` when the
/// token is forged, of another purpose or expired (each list words its own error).
pub fn after<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Option<i64> {
    match req.query_param("page_token").filter(|t| !t.is_empty()) {
        None => Some(0),
        Some(t) => {
            seal::open::<PageToken>(&ctx.cfg.system_secrets, Purpose::PageToken, ctx.p.now(), &t).map(|p| p.after).ok()
        }
    }
}

/// The `Link` header of a page: the request's path with `filters` (empty ones left out),
/// `page_size`, and a page token for the first page and, when `next_after` is given, the next.
pub fn link_header<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
    filters: &[(&str, &str)],
    size: i64,
    next_after: Option<i64>,
) -> String {
    let url = ctx.cfg.public(&req.path);
    let link = |rel: &str, after: i64| {
        let token = seal::seal(
            ctx.cfg.primary_secret(),
            Purpose::PageToken,
            ctx.p.now() + PAGE_TOKEN_TTL,
            &PageToken { after },
        );
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (name, value) in filters.iter().filter(|(_, v)| !v.is_empty()) {
            q.append_pair(name, value);
        }
        q.append_pair("page_size", &size.to_string());
        q.append_pair("page_token", &token);
        format!("<{url}?{}>; rel=\"{rel}\"", q.finish())
    };
    let mut links = vec![link("first", 0)];
    if let Some(after) = next_after {
        links.push(link("next", after));
    }
    links.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_defaults_and_clamps() {
        assert_eq!(page_size(None).unwrap(), 100);
        assert_eq!(page_size(Some("")).unwrap(), 100);
        assert_eq!(page_size(Some("0")).unwrap(), 100);
        assert_eq!(page_size(Some("-5")).unwrap(), 100);
        assert_eq!(page_size(Some("7")).unwrap(), 7);
        assert_eq!(page_size(Some("100000")).unwrap(), 500);
        assert_eq!(page_size(Some("ten")).unwrap_err().status, 400);
    }
}
