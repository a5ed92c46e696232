//! A minimal HTTP/1.1 server on 127.0.0.1 for `perform authorization-code`: the browser lands
//! on it a handful of times (home page, callback), one request per connection. Enough HTTP to
//! read a request line, headers and a small form body, and to answer with a page or a redirect.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

const MAX_HEAD_BYTES: usize = 16 << 10;
const MAX_BODY_BYTES: usize = 64 << 10;

pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Vec<u8>,
}

impl Request {
    /// Query parameters, and for a form POST (`response_mode=form_post`) the body's as well.
    pub fn params(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = form_urlencoded::parse(self.query.as_bytes()).into_owned().collect();
        if self.method == "POST" {
            out.extend(form_urlencoded::parse(&self.body).into_owned());
        }
        out
    }
}

pub struct Server {
    listener: TcpListener,
}

impl Server {
    pub fn bind(port: u16) -> std::io::Result<Server> {
        Ok(Server { listener: TcpListener::bind(("127.0.0.1", port))? })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The next well-formed request; connections that send garbage are answered 400 and skipped.
    pub fn next(&self) -> std::io::Result<(Request, TcpStream)> {
        loop {
            let (mut stream, _) = self.listener.accept()?;
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            match read_request(&mut stream) {
                Some(req) => return Ok((req, stream)),
                None => respond(&mut stream, 400, "text/plain; charset=utf-8", b"bad request", &[]),
            }
        }
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut head_bytes = 0usize;
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    head_bytes += line.len();
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut content_length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        head_bytes += h.len();
        if head_bytes > MAX_HEAD_BYTES {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                content_length = v.trim().parse().ok()?;
            }
        }
    }
    if content_length > MAX_BODY_BYTES {
        return None;
    }
    let mut body = vec![0u8; content_length];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target, String::new()),
    };
    Some(Request { method, path, query, body })
}

pub fn respond(stream: &mut TcpStream, status: u16, content_type: &str, body: &[u8], headers: &[(&str, &str)]) {
    let reason = match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Error",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_a_request_and_reads_form_posts() {
        let server = Server::bind(0).unwrap();
        let port = server.port();
        let client = std::thread::spawn(move || {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            let body = "code=abc&state=xyz";
            write!(
                s,
                "POST /callback?x=1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            let mut answer = String::new();
            s.read_to_string(&mut answer).unwrap();
            answer
        });
        let (req, mut stream) = server.next().unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/callback");
        let params = req.params();
        assert!(params.contains(&("x".into(), "1".into())));
        assert!(params.contains(&("code".into(), "abc".into())));
        respond(&mut stream, 200, "text/plain", b"ok", &[]);
        drop(stream);
        let answer = client.join().unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nok"), "{answer}");
    }
}
