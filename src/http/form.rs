//! `application/x-www-form-urlencoded` parsing for OAuth parameters (query strings and bodies).
//!
//! Stricter than `form_urlencoded::parse`: invalid UTF-8 after percent-decoding is an error rather
//! than a replacement character, and single-valued parameters sent twice are rejected
//! (RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once").

use percent_encoding::percent_decode;

#[derive(Debug, Clone, Default)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// A name or value is not valid UTF-8 once percent-decoded.
    InvalidEncoding,
    /// A parameter that must appear once appeared more than once.
    Duplicate(String),
}

impl std::fmt::Display for FormError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormError::InvalidEncoding => {
                write!(f, "The request contains a parameter that is not valid UTF-8 once percent-decoded.")
            }
            FormError::Duplicate(name) => {
                write!(f, "The parameter '{name}' must not be included more than once.")
            }
        }
    }
}

fn decode(raw: &[u8]) -> Result<String, FormError> {
    let plus_as_space: Vec<u8> = raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
    percent_decode(&plus_as_space).decode_utf8().map(|s| s.into_owned()).map_err(|_| FormError::InvalidEncoding)
}

impl Form {
    pub fn parse(input: &[u8]) -> Result<Form, FormError> {
        let mut pairs = Vec::new();
        for part in input.split(|&b| b == b'&') {
            if part.is_empty() {
                continue;
            }
            let (name, value) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &b""[..]),
            };
            pairs.push((decode(name)?, decode(value)?));
        }
        Ok(Form { pairs })
    }

    /// Query parameters followed by body parameters, as `/oauth2/auth` reads them for POST.
    pub fn merged(first: Form, second: Form) -> Form {
        let mut pairs = first.pairs;
        pairs.extend(second.pairs);
        Form { pairs }
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The value of a single-valued parameter; empty values count as absent.
    pub fn get(&self, name: &str) -> Result<Option<&str>, FormError> {
        let mut found: Option<&str> = None;
        for (k, v) in &self.pairs {
            if k == name {
                if found.is_some() {
                    return Err(FormError::Duplicate(name.to_string()));
                }
                found = Some(v.as_str());
            }
        }
        Ok(found.filter(|v| !v.is_empty()))
    }

    /// The value of a parameter, or "" when absent.
    pub fn get_or_empty(&self, name: &str) -> Result<&str, FormError> {
        Ok(self.get(name)?.unwrap_or(""))
    }

    /// Every value of a parameter that may be repeated (such as `audience`).
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Encode the pairs back into a query string.
    pub fn encode(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.pairs {
            s.append_pair(k, v);
        }
        s.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent() {
        let f = Form::parse(b"a=1+2&b=%C3%A9&c").unwrap();
        assert_eq!(f.get("a").unwrap(), Some("1 2"));
        assert_eq!(f.get("b").unwrap(), Some("é"));
        assert_eq!(f.get("c").unwrap(), None);
        assert_eq!(f.get("missing").unwrap(), None);
    }

    #[test]
    fn rejects_duplicates_and_bad_utf8() {
        let f = Form::parse(b"a=1&a=2").unwrap();
        assert_eq!(f.get("a"), Err(FormError::Duplicate("a".into())));
        assert_eq!(f.get_all("a"), vec!["1", "2"]);
        assert_eq!(Form::parse(b"a=%FF").unwrap_err(), FormError::InvalidEncoding);
    }

    #[test]
    fn round_trips() {
        let f = Form::parse(b"x=a%20b&y=%26").unwrap();
        assert_eq!(Form::parse(f.encode().as_bytes()).unwrap().get("y").unwrap(), Some("&"));
    }
}
