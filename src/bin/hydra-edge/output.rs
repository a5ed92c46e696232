//! Output as Hydra's CLI prints it: a readable table by default (one item as `FIELD  value`
//! lines, several as columns), or JSON for scripts (`--format json`, `json-pretty`,
//! `jsonpointer=/path`), or only the ids (`--format quiet` / `-q`).

use serde_json::Value;

use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    JsonPretty,
    JsonPointer(String),
    Quiet,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format, Error> {
        Ok(match s {
            "table" | "default" | "" => Format::Table,
            "json" => Format::Json,
            "json-pretty" => Format::JsonPretty,
            "quiet" => Format::Quiet,
            other => match other.strip_prefix("jsonpointer=") {
                Some(p) if p.is_empty() || p.starts_with('/') => Format::JsonPointer(p.to_string()),
                _ => {
                    return Err(Error::Usage(format!(
                        "unknown --format '{other}': use table, json, json-pretty, jsonpointer=/path or quiet"
                    )))
                }
            },
        })
    }
}

/// What a command prints: table columns, the JSON document, and the ids for `quiet`.
pub struct View {
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    /// Extra `NAME value` lines under a table (pagination).
    pub footer: Vec<(&'static str, String)>,
    pub json: Value,
    pub ids: Vec<String>,
    /// One item: printed as `FIELD  value` lines.
    pub single: bool,
}

impl View {
    pub fn row(header: Vec<&'static str>, row: Vec<String>, json: Value) -> View {
        let id = row.first().cloned().unwrap_or_default();
        View { header, rows: vec![row], footer: Vec::new(), json, ids: vec![id], single: true }
    }

    pub fn table(header: Vec<&'static str>, rows: Vec<Vec<String>>, json: Value) -> View {
        let ids = rows.iter().map(|r| r.first().cloned().unwrap_or_default()).collect();
        View { header, rows, footer: Vec::new(), json, ids, single: false }
    }

    /// Deleted or acted-on ids (Hydra's `ID` output).
    pub fn ids(ids: Vec<String>) -> View {
        let json = if ids.len() == 1 { Value::String(ids[0].clone()) } else { Value::from(ids.clone()) };
        let rows = ids.iter().map(|i| vec![i.clone()]).collect();
        View { header: vec!["ID"], rows, footer: Vec::new(), json, ids: ids.clone(), single: ids.len() == 1 }
    }

    pub fn render(&self, format: &Format) -> Result<String, Error> {
        Ok(match format {
            Format::Table => {
                if self.single && self.rows.len() == 1 {
                    let pairs: Vec<Vec<String>> =
                        self.header.iter().zip(&self.rows[0]).map(|(h, v)| vec![h.to_string(), v.clone()]).collect();
                    columns(&pairs)
                } else {
                    let mut all = vec![self.header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
                    all.extend(self.rows.iter().cloned());
                    let mut out = columns(&all);
                    if !self.footer.is_empty() {
                        out.push('\n');
                        let pairs: Vec<Vec<String>> =
                            self.footer.iter().map(|(k, v)| vec![k.to_string(), v.clone()]).collect();
                        out.push_str(&columns(&pairs));
                    }
                    out
                }
            }
            Format::Json => format!("{}\n", self.json),
            Format::JsonPretty => format!("{}\n", pretty(&self.json)),
            Format::JsonPointer(p) => match self.json.pointer(p) {
                Some(v) => format!("{}\n", pretty(v)),
                None => return Err(Error::Failed(format!("the JSON pointer '{p}' matches nothing in the result"))),
            },
            Format::Quiet => self.ids.iter().map(|i| format!("{i}\n")).collect(),
        })
    }
}

pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
fn columns(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; n];
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < r.len() {
                line.extend(std::iter::repeat_n(' ', widths[i] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A JSON string member, or "" (for table cells).
pub fn s(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A JSON array of strings joined with ", " (for table cells).
pub fn joined(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())).collect::<Vec<_>>())
        .unwrap_or_default()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_item_prints_as_field_value_lines() {
        let v = View::row(vec!["CLIENT ID", "SCOPE"], vec!["abc".into(), "openid".into()], json!({"client_id": "abc"}));
        assert_eq!(v.render(&Format::Table).unwrap(), "CLIENT ID  abc\nSCOPE      openid\n");
        assert_eq!(v.render(&Format::Json).unwrap(), "{\"client_id\":\"abc\"}\n");
        assert_eq!(v.render(&Format::Quiet).unwrap(), "abc\n");
        assert_eq!(v.render(&Format::JsonPointer("/client_id".into())).unwrap(), "\"abc\"\n");
        assert!(v.render(&Format::JsonPointer("/nope".into())).is_err());
    }

    #[test]
    fn several_items_print_as_columns_with_a_footer() {
        let mut v = View::table(
            vec!["ID", "NAME"],
            vec![vec!["a".into(), "first".into()], vec!["bbbb".into(), "".into()]],
            json!([]),
        );
        v.footer = vec![("IS LAST PAGE", "true".into())];
        assert_eq!(v.render(&Format::Table).unwrap(), "ID    NAME\na     first\nbbbb\n\nIS LAST PAGE  true\n");
        assert_eq!(v.render(&Format::Quiet).unwrap(), "a\nbbbb\n");
    }

    #[test]
    fn formats_parse_like_hydras() {
        assert_eq!(Format::parse("table").unwrap(), Format::Table);
        assert_eq!(Format::parse("json-pretty").unwrap(), Format::JsonPretty);
        assert_eq!(Format::parse("jsonpointer=/a/0").unwrap(), Format::JsonPointer("/a/0".into()));
        assert!(matches!(Format::parse("yaml"), Err(Error::Usage(_))));
        assert!(matches!(Format::parse("jsonpointer=a"), Err(Error::Usage(_))));
    }

    #[test]
    fn cells_render_strings_lists_and_missing_members() {
        let v = json!({"a": "x", "b": ["1", "2"], "c": 3, "d": null});
        assert_eq!(s(&v, "a"), "x");
        assert_eq!(s(&v, "c"), "3");
        assert_eq!(s(&v, "d"), "");
        assert_eq!(joined(&v, "b"), "1, 2");
        assert_eq!(joined(&v, "zz"), "");
    }
}
