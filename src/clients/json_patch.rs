//! JSON Patch (RFC 6902) over JSON Pointers (RFC 6901), for `PATCH /admin/clients/{id}`: a few
//! dozen lines over `serde_json::Value` instead of a crate (and its own pointer crate) in the
//! Worker. Operations apply in order to a document the caller throws away on failure.

use serde_json::Value;

/// One operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Add { path: String, value: Value },
    Remove { path: String },
    Replace { path: String, value: Value },
    Move { from: String, path: String },
    Copy { from: String, path: String },
    Test { path: String, value: Value },
}

impl Op {
    pub fn path(&self) -> &str {
        match self {
            Op::Add { path, .. }
            | Op::Remove { path }
            | Op::Replace { path, .. }
            | Op::Move { path, .. }
            | Op::Copy { path, .. }
            | Op::Test { path, .. } => path,
        }
    }

    pub fn from(&self) -> Option<&str> {
        match self {
            Op::Move { from, .. } | Op::Copy { from, .. } => Some(from),
            _ => None,
        }
    }
}

/// A patch document: an array of operation objects. The error names the operation (`[i]`) and
/// what is wrong with it.
pub fn parse(doc: &Value) -> Result<Vec<Op>, String> {
    let ops = doc.as_array().ok_or("the document must be an array of operations")?;
    ops.iter().enumerate().map(|(i, op)| parse_op(op).map_err(|e| format!("{e} at [{i}]"))).collect()
}

fn parse_op(op: &Value) -> Result<Op, String> {
    let obj = op.as_object().ok_or("an operation must be an object")?;
    let text = |name: &str| -> Result<String, String> {
        let s = obj
            .get(name)
            .ok_or(format!("missing field `{name}`"))?
            .as_str()
            .ok_or(format!("`{name}` must be a string"))?;
        pointer(s)?;
        Ok(s.to_string())
    };
    let value = || obj.get("value").cloned().ok_or("missing field `value`".to_string());
    match obj.get("op").and_then(Value::as_str) {
        Some("add") => Ok(Op::Add { path: text("path")?, value: value()? }),
        Some("remove") => Ok(Op::Remove { path: text("path")? }),
        Some("replace") => Ok(Op::Replace { path: text("path")?, value: value()? }),
        Some("move") => Ok(Op::Move { from: text("from")?, path: text("path")? }),
        Some("copy") => Ok(Op::Copy { from: text("from")?, path: text("path")? }),
        Some("test") => Ok(Op::Test { path: text("path")?, value: value()? }),
        Some(other) => Err(format!("unknown operation `{other}`")),
        None => Err("missing field `op`".into()),
    }
}

/// The reference tokens of a pointer (`""` is the whole document).
fn pointer(p: &str) -> Result<Vec<String>, String> {
    if p.is_empty() {
        return Ok(Vec::new());
    }
    let rest = p.strip_prefix('/').ok_or_else(|| format!("the pointer \"{p}\" must start with '/'"))?;
    rest.split('/')
        .map(|t| {
            if t.contains('~') && t.replace("~0", "").replace("~1", "").contains('~') {
                Err(format!("the pointer \"{p}\" holds an invalid escape"))
            } else {
                Ok(t.replace("~1", "/").replace("~0", "~"))
            }
        })
        .collect()
}

/// An array index token: decimal without leading zeros, within `len` (`len` itself only when
/// `end_ok`, as `add` allows).
fn index(token: &str, len: usize, end_ok: bool) -> Result<usize, String> {
    if token == "-" && end_ok {
        return Ok(len);
    }
    let valid =
        !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) && (token == "0" || !token.starts_with('0'));
    let i: usize =
        if valid { token.parse().map_err(|_| format!("index {token} is out of range"))? } else { usize::MAX };
    if i == usize::MAX {
        return Err(format!("\"{token}\" is not an array index"));
    }
    if i < len || (end_ok && i == len) {
        Ok(i)
    } else {
        Err(format!("index {token} is out of range"))
    }
}

/// The value a pointer names.
fn get<'a>(doc: &'a Value, tokens: &[String]) -> Result<&'a Value, String> {
    tokens.iter().try_fold(doc, |at, t| match at {
        Value::Object(m) => m.get(t).ok_or_else(|| format!("\"{t}\" does not exist")),
        Value::Array(a) => Ok(&a[index(t, a.len(), false)?]),
        _ => Err(format!("\"{t}\" is below a value that has no members")),
    })
}

/// The container a pointer's last token lives in, and that token.
fn parent<'a>(doc: &'a mut Value, tokens: &'a [String]) -> Result<(&'a mut Value, &'a str), String> {
    let (last, up) = tokens.split_last().ok_or("the operation needs a member, not the whole document")?;
    let mut at = doc;
    for t in up {
        at = match at {
            Value::Object(m) => m.get_mut(t).ok_or_else(|| format!("\"{t}\" does not exist"))?,
            Value::Array(a) => {
                let i = index(t, a.len(), false)?;
                &mut a[i]
            }
            _ => return Err(format!("\"{t}\" is below a value that has no members")),
        };
    }
    Ok((at, last))
}

fn add(doc: &mut Value, tokens: &[String], value: Value) -> Result<(), String> {
    if tokens.is_empty() {
        *doc = value;
        return Ok(());
    }
    match parent(doc, tokens)? {
        (Value::Object(m), key) => {
            m.insert(key.to_string(), value);
            Ok(())
        }
        (Value::Array(a), t) => {
            let i = index(t, a.len(), true)?;
            a.insert(i, value);
            Ok(())
        }
        (_, t) => Err(format!("cannot add \"{t}\" to a value that has no members")),
    }
}

fn remove(doc: &mut Value, tokens: &[String]) -> Result<Value, String> {
    match parent(doc, tokens)? {
        (Value::Object(m), key) => m.remove(key).ok_or_else(|| format!("\"{key}\" does not exist")),
        (Value::Array(a), t) => {
            let i = index(t, a.len(), false)?;
            Ok(a.remove(i))
        }
        (_, t) => Err(format!("\"{t}\" does not exist")),
    }
}

/// Apply `ops` in order. On an error `doc` is left partly patched: the caller discards it.
pub fn apply(doc: &mut Value, ops: &[Op]) -> Result<(), String> {
    for (i, op) in ops.iter().enumerate() {
        let at = |e: String| format!("{e} (operation {i})");
        let path = pointer(op.path()).map_err(at)?;
        match op {
            Op::Add { value, .. } => add(doc, &path, value.clone()).map_err(at)?,
            Op::Remove { .. } => {
                remove(doc, &path).map_err(at)?;
            }
            Op::Replace { value, .. } => {
                get(doc, &path).map_err(at)?;
                if path.is_empty() {
                    *doc = value.clone();
                } else {
                    remove(doc, &path).map_err(at)?;
                    add(doc, &path, value.clone()).map_err(at)?;
                }
            }
            Op::Move { from, .. } => {
                let from = pointer(from).map_err(at)?;
                if path.len() > from.len() && path.starts_with(&from) {
                    return Err(at("cannot move a value into one of its own members".into()));
                }
                if from.is_empty() {
                    // Moving the whole document onto itself changes nothing (`path` is "" too).
                    continue;
                }
                let value = remove(doc, &from).map_err(at)?;
                add(doc, &path, value).map_err(at)?;
            }
            Op::Copy { from, .. } => {
                let value = get(doc, &pointer(from).map_err(at)?).map_err(at)?.clone();
                add(doc, &path, value).map_err(at)?;
            }
            Op::Test { value, .. } => {
                if !json_equal(get(doc, &path).map_err(at)?, value) {
                    return Err(at(format!("the value at \"{}\" is not the one tested for", op.path())));
                }
            }
        }
    }
    Ok(())
}

/// RFC 6902 §4.6 equality: numbers by their value (`1` equals `1.0`), arrays element by
/// element, objects member by member regardless of order, everything else as written.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
            (Some(i), Some(j), _, _) => i == j,
            (_, _, Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn test_compares_numbers_by_value() {
        let mut doc = json!({"n": 0, "a": [1, {"x": 2}], "s": "1"});
        let ops = |v: Value| parse(&json!([{"op": "test", "path": "", "value": v}])).unwrap();
        assert!(apply(&mut doc, &ops(json!({"n": 0.0, "a": [1.0, {"x": 2}], "s": "1"}))).is_ok());
        assert!(
            apply(&mut doc, &ops(json!({"n": 0, "a": [1, {"x": 2}], "s": 1}))).is_err(),
            "a string is not a number"
        );
        assert!(apply(&mut doc, &ops(json!({"n": 0, "a": [1, {"x": 2.5}], "s": "1"}))).is_err());
        assert!(apply(&mut doc, &ops(json!({"n": 0, "a": [1], "s": "1"}))).is_err());
    }

    fn run(doc: Value, patch: Value) -> Result<Value, String> {
        let ops = parse(&patch)?;
        let mut doc = doc;
        apply(&mut doc, &ops)?;
        Ok(doc)
    }

    #[test]
    fn the_rfc_6902_examples() {
        let doc = json!({"foo": "bar"});
        assert_eq!(
            run(doc.clone(), json!([{"op": "add", "path": "/baz", "value": "qux"}])),
            Ok(json!({"foo": "bar", "baz": "qux"}))
        );
        let arr = json!({"foo": ["bar", "baz"]});
        assert_eq!(
            run(arr.clone(), json!([{"op": "add", "path": "/foo/1", "value": "qux"}])),
            Ok(json!({"foo": ["bar", "qux", "baz"]}))
        );
        assert_eq!(
            run(arr.clone(), json!([{"op": "add", "path": "/foo/-", "value": "x"}])),
            Ok(json!({"foo": ["bar", "baz", "x"]}))
        );
        assert_eq!(run(arr.clone(), json!([{"op": "remove", "path": "/foo/0"}])), Ok(json!({"foo": ["baz"]})));
        assert_eq!(
            run(doc.clone(), json!([{"op": "replace", "path": "/foo", "value": null}])),
            Ok(json!({"foo": null}))
        );
        let nested = json!({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}});
        assert_eq!(
            run(nested.clone(), json!([{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}])),
            Ok(json!({"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}))
        );
        assert_eq!(
            run(nested, json!([{"op": "copy", "from": "/foo/bar", "path": "/qux/x"}])).unwrap()["qux"]["x"],
            "baz"
        );
        assert!(run(
            json!({"a/b": 1, "m~n": 2}),
            json!([{"op": "test", "path": "/a~1b", "value": 1}, {"op": "test", "path": "/m~0n", "value": 2}])
        )
        .is_ok());
        assert_eq!(run(doc.clone(), json!([{"op": "replace", "path": "", "value": [1]}])), Ok(json!([1])));
    }

    #[test]
    fn refuses_what_rfc_6902_refuses() {
        let doc = json!({"foo": ["bar"], "n": 1});
        for bad in [
            json!({"op": "add", "path": "/missing/x", "value": 1}),
            json!({"op": "add", "path": "/foo/2", "value": 1}),
            json!({"op": "add", "path": "/foo/01", "value": 1}),
            json!({"op": "remove", "path": "/nope"}),
            json!({"op": "remove", "path": ""}),
            json!({"op": "replace", "path": "/nope", "value": 1}),
            json!({"op": "move", "from": "/foo", "path": "/foo/0"}),
            json!({"op": "copy", "from": "/nope", "path": "/x"}),
            json!({"op": "test", "path": "/n", "value": 2}),
            json!({"op": "add", "path": "/n/x", "value": 1}),
        ] {
            assert!(run(doc.clone(), json!([bad.clone()])).is_err(), "{bad}");
        }
        for malformed in [
            json!({}),
            json!([{"path": "/x"}]),
            json!([{"op": "frobnicate", "path": "/x"}]),
            json!([{"op": "add", "path": "/x"}]),
            json!([{"op": "add", "path": "x", "value": 1}]),
            json!([{"op": "remove", "path": "/a~2"}]),
            json!([{"op": "move", "path": "/x"}]),
            json!([{"op": "remove", "path": 7}]),
        ] {
            assert!(parse(&malformed).is_err(), "{malformed}");
        }
    }
}
