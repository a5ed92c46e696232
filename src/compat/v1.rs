//! v1.x lists: `limit`/`offset` pagination (limit 100 by default, at most 500) with Hydra v1's
//! `X-Total-Count` and `Link` headers (`first`, `prev`, `next`, `last`). v2 lists page with
//! `page_size`/`page_token` instead; a request says which it means by the parameters it sends.

use super::has_param;
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::router::Gen;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;

/// How a list request pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// v2: keyset pagination (`page_size`, `page_token`), parsed by the list itself.
    Token,
    /// v1.x: `limit` rows after skipping `offset`.
    Offset { limit: i64, offset: i64 },
}

/// The pagination a list request asks for: `limit`/`offset` is v1.x, `page_size`/`page_token`
/// v2, both at once a 400; with neither, the form of the path (v1.x without `/admin`).
pub fn page(req: &Request, gen: Gen) -> ApiResult<Page> {
    let v1 = has_param(req, "limit") || has_param(req, "offset");
    let v2 = has_param(req, "page_size") || has_param(req, "page_token");
    if v1 && v2 {
        return Err(ApiError::bad_request(
            "Pagination is either limit/offset (Hydra v1) or page_size/page_token (Hydra v2), not both.",
        ));
    }
    if v2 || (!v1 && gen == Gen::V2) {
        return Ok(Page::Token);
    }
    let number = |name: &str| -> ApiResult<Option<i64>> {
        match req.query_param(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("The {name} must be an integer, got \"{v}\"."))),
        }
    };
    let limit = match number("limit")? {
        None => DEFAULT_LIMIT,
        Some(n) if n < 1 => DEFAULT_LIMIT,
        Some(n) => n.min(MAX_LIMIT),
    };
    let offset = number("offset")?.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::bad_request("The offset must not be negative."));
    }
    Ok(Page::Offset { limit, offset })
}

/// v1.x's pagination headers for a page of `limit` rows at `offset` out of `total`. `url` is the
/// list's absolute URL, `keep` the query parameters every link repeats (filters).
pub fn offset_headers(
    resp: Response,
    url: &str,
    keep: &[(&str, &str)],
    limit: i64,
    offset: i64,
    total: i64,
) -> Response {
    let link = |rel: &str, at: i64| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in keep.iter().filter(|(_, v)| !v.is_empty()) {
            q.append_pair(k, v);
        }
        q.append_pair("limit", &limit.to_string());
        q.append_pair("offset", &at.to_string());
        format!("<{url}?{}>; rel=\"{rel}\"", q.finish())
    };
    let mut links = vec![link("first", 0)];
    if offset > 0 {
        links.push(link("prev", (offset - limit).max(0)));
    }
    if offset + limit < total {
        links.push(link("next", offset + limit));
    }
    let last = if total > 0 { (total - 1) / limit * limit } else { 0 };
    links.push(link("last", last));
    resp.with_header("x-total-count", &total.to_string()).with_header("link", &links.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    fn p(target: &str, gen: Gen) -> ApiResult<Page> {
        page(&Request::new(Method::Get, target), gen)
    }

    #[test]
    fn the_parameters_decide_the_generation() {
        assert_eq!(p("/clients", Gen::V1).unwrap(), Page::Offset { limit: 100, offset: 0 });
        assert_eq!(p("/admin/clients", Gen::V2).unwrap(), Page::Token);
        assert_eq!(p("/clients?page_size=5", Gen::V1).unwrap(), Page::Token);
        assert_eq!(p("/admin/clients?limit=5", Gen::V2).unwrap(), Page::Offset { limit: 5, offset: 0 });
        assert_eq!(p("/clients?limit=1000&offset=7", Gen::V1).unwrap(), Page::Offset { limit: 500, offset: 7 });
        assert_eq!(p("/clients?limit=0", Gen::V1).unwrap(), Page::Offset { limit: 100, offset: 0 });
        for bad in ["/clients?limit=5&page_token=x", "/clients?limit=ten", "/clients?offset=-1", "/clients?offset=1.5"]
        {
            assert_eq!(p(bad, Gen::V1).unwrap_err().status, 400, "{bad}");
        }
    }

    #[test]
    fn links_as_hydra_v1_sends_them() {
        let r =
            offset_headers(Response::new(200), "https://h/clients", &[("owner", "o"), ("client_name", "")], 2, 2, 7);
        assert_eq!(r.header("x-total-count"), Some("7"));
        let link = r.header("link").unwrap();
        assert_eq!(
            link,
            "<https://h/clients?owner=o&limit=2&offset=0>; rel=\"first\",\
             <https://h/clients?owner=o&limit=2&offset=0>; rel=\"prev\",\
             <https://h/clients?owner=o&limit=2&offset=4>; rel=\"next\",\
             <https://h/clients?owner=o&limit=2&offset=6>; rel=\"last\""
        );
        let r = offset_headers(Response::new(200), "u", &[], 100, 0, 0);
        assert_eq!(
            r.header("link"),
            Some("<u?limit=100&offset=0>; rel=\"first\",<u?limit=100&offset=0>; rel=\"last\"")
        );
    }
}
