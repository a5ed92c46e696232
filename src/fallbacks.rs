//! `/oauth2/fallbacks/*`: the placeholder pages Hydra serves when a UI URL (`URLS_LOGIN`,
//! `URLS_ERROR`, ...) is not configured. Every value taken from the request is HTML-escaped
//! (Hydra's CVE-2019-8400 was an XSS through `error_hint` on the error page).

use crate::http::{html_escape, Request, Response};

pub fn page(name: &str, req: &Request) -> Response {
    let (title, text) = match name {
        "error" => ("An error occurred", String::new()),
        "login" => ("Login is not configured", "Set URLS_LOGIN to the address of your login app.".to_string()),
        "consent" => ("Consent is not configured", "Set URLS_CONSENT to the address of your consent app.".to_string()),
        "logout" => ("Logout is not configured", "Set URLS_LOGOUT to the address of your logout app.".to_string()),
        "logout/callback" => (
            "You have been logged out",
            "Set URLS_POST_LOGOUT_REDIRECT to choose where users land after logout.".to_string(),
        ),
        "device" => ("Device verification is not configured", String::new()),
        "device/done" => ("Device authorized", "You may now close this window.".to_string()),
        _ => ("Not found", String::new()),
    };
    let mut details = String::new();
    if name == "error" {
        for key in ["error", "error_description", "error_hint"] {
            if let Some(v) = req.query_param(key) {
                details.push_str(&format!("<p><strong>{}</strong>: {}</p>", html_escape(key), html_escape(&v)));
            }
        }
    }
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><h1>{t}</h1><p>{text}</p>{details}</body></html>",
        t = html_escape(title),
        text = html_escape(&text),
    );
    Response::html(200, html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    #[test]
    fn error_page_escapes_everything() {
        let req =
            Request::new(Method::Get, "/oauth2/fallbacks/error?error=x&error_hint=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
        let r = page("error", &req);
        let body = String::from_utf8(r.body).unwrap();
        assert!(!body.contains("<script>"));
        assert!(body.contains("&lt;script&gt;"));
        assert_eq!(r.headers.iter().find(|(k, _)| k == "x-frame-options").unwrap().1, "DENY");
        assert!(r.headers.iter().any(|(k, v)| k == "x-content-type-options" && v == "nosniff"));
    }
}
