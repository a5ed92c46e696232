//! `application/x-www-form-urlencoded` parsing for OAuth parameters (query strings and bodies).
//!
//! Stricter than `form_urlencoded::parse`, which passes malformed input through: a `%` not
//! followed by two hex digits, invalid UTF-8 after decoding, and control characters (NUL, CR,
//! LF, any C0 or C1 control, DEL) in a name or value are errors (`invalid_request` at the OAuth
//! endpoints), and single-valued parameters sent twice are rejected (RFC 6749 §3.1: "Request and
//! response parameters MUST NOT be included more than once").

#[derive(Debug, Clone, Default)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// A name or value is not valid UTF-8 once percent-decoded.
    InvalidEncoding,
    /// A `%` that is not followed by two hexadecimal digits.
    MalformedEscape,
    /// A name or value holds a control character once decoded.
    ControlCharacter,
    /// A parameter that must appear once appeared more than once.
    Duplicate(String),
}

impl std::fmt::Display for FormError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormError::InvalidEncoding => {
                write!(f, "The request contains a parameter that is not valid UTF-8 once percent-decoded.")
            }
            FormError::MalformedEscape => {
                write!(
                    f,
                    "The request contains a malformed percent-escape: '%' must be followed by two hexadecimal digits."
                )
            }
            FormError::ControlCharacter => {
                write!(f, "The request contains a parameter with a control character (such as NUL, CR or LF).")
            }
            FormError::Duplicate(name) => {
                write!(f, "The parameter '{name}' must not be included more than once.")
            }
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decode one `application/x-www-form-urlencoded` name or value: `+` is a space, `%XX` a byte;
/// anything malformed, not UTF-8 or holding a control character is an error.
pub fn decode(raw: &[u8]) -> Result<String, FormError> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).copied().and_then(hex_value);
                let lo = raw.get(i + 2).copied().and_then(hex_value);
                match (hi, lo) {
                    (Some(h), Some(l)) => bytes.push(h << 4 | l),
                    _ => return Err(FormError::MalformedEscape),
                }
                i += 2;
            }
            b => bytes.push(b),
        }
        i += 1;
    }
    let text = String::from_utf8(bytes).map_err(|_| FormError::InvalidEncoding)?;
    if text.chars().any(char::is_control) {
        return Err(FormError::ControlCharacter);
    }
    Ok(text)
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
    fn rejects_malformed_escapes_and_control_characters() {
        for bad in [&b"a=%ZZ"[..], b"a=%", b"a=%4", b"a=b%4g", b"%zz=1", b"a=%G1"] {
            assert_eq!(Form::parse(bad).unwrap_err(), FormError::MalformedEscape, "{}", String::from_utf8_lossy(bad));
        }
        for bad in [&b"a=%00"[..], b"a=x%0Ay", b"a=%0D%0A", b"a=%09", b"a=%7F", b"a=%C2%85", b"a\x01=1", b"a=\n"] {
            assert_eq!(
                Form::parse(bad).unwrap_err(),
                FormError::ControlCharacter,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(Form::parse(b"a=%25%2B%20+%7E").unwrap().get("a").unwrap(), Some("%+  ~"));
    }

    #[test]
    fn round_trips() {
        let f = Form::parse(b"x=a%20b&y=%26").unwrap();
        assert_eq!(Form::parse(f.encode().as_bytes()).unwrap().get("y").unwrap(), Some("&"));
    }
}
