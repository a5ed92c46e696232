//! D1 over SQLite: the real `migrations/` applied to an in-memory database, and D1's semantics
//! for the calls the server makes.
//!
//! * `sql`: exactly one statement (more is an error, as in D1's `prepare`), auto-committed.
//! * `batch`: one transaction; the first failing statement rolls the whole batch back and the
//!   batch fails.
//! * Rows are JSON objects keyed by column name; INTEGER and REAL become numbers, TEXT strings,
//!   NULL null, BLOB an array of byte values (what D1's `results()` gives to the Worker).
//! * `changes`: rows written by the statement (0 for a read).

use std::cell::RefCell;

use rusqlite::types::{Value as SqlV, ValueRef};
use rusqlite::Connection;
use serde_json::{Map, Number, Value};

use crate::platform::{PResult, PlatformError, Query, QueryResult, Row, SqlValue};

pub struct Db {
    conn: RefCell<Connection>,
}

fn err(e: rusqlite::Error) -> PlatformError {
    PlatformError(format!("D1_ERROR: {e}"))
}

fn to_json(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Array(b.iter().map(|x| Value::from(*x)).collect()),
    }
}

fn to_sql(v: &SqlValue) -> SqlV {
    match v {
        SqlValue::Null => SqlV::Null,
        SqlValue::Int(i) => SqlV::Integer(*i),
        SqlValue::Text(s) => SqlV::Text(s.clone()),
    }
}

/// Run one statement on `conn` with D1's result shape.
fn run_on(conn: &Connection, sql: &str, params: &[SqlValue]) -> PResult<QueryResult> {
    let mut stmt = conn.prepare(sql).map_err(err)?;
    let names: Vec<String> = stmt.column_names().into_iter().map(str::to_string).collect();
    let readonly = stmt.readonly();
    let values: Vec<SqlV> = params.iter().map(to_sql).collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(values.iter())).map_err(err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(err)? {
        let mut m: Row = Map::new();
        for (i, name) in names.iter().enumerate() {
            m.insert(name.clone(), to_json(row.get_ref(i).map_err(err)?));
        }
        out.push(m);
    }
    drop(rows);
    let changes = if readonly { 0 } else { conn.changes() };
    Ok(QueryResult { rows: out, changes })
}

impl Db {
    /// An in-memory database with every file of `migrations/` applied in name order.
    pub fn open_migrated() -> Result<Db, String> {
        let conn = Connection::open_in_memory().map_err(|e| e.to_string())?;
        // As in D1.
        conn.execute_batch("PRAGMA foreign_keys = ON;").map_err(|e| e.to_string())?;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().map(|x| x == "sql").unwrap_or(false))
            .collect();
        files.sort();
        for f in files {
            let sql = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
            conn.execute_batch(&sql).map_err(|e| format!("{}: {e}", f.display()))?;
        }
        Ok(Db { conn: RefCell::new(conn) })
    }

    pub fn run(&self, q: &Query) -> PResult<QueryResult> {
        run_on(&self.conn.borrow(), q.sql, &q.params)
    }

    pub fn batch(&self, queries: &[Query]) -> PResult<Vec<QueryResult>> {
        let mut conn = self.conn.borrow_mut();
        let tx = conn.transaction().map_err(err)?;
        let mut results = Vec::with_capacity(queries.len());
        for q in queries {
            // Dropping `tx` on the error path rolls everything back.
            results.push(run_on(&tx, q.sql, &q.params)?);
        }
        tx.commit().map_err(err)?;
        Ok(results)
    }

    /// Inspection by tests: one statement, no parameters.
    pub fn run_raw(&self, sql: &str) -> PResult<Vec<Row>> {
        Ok(run_on(&self.conn.borrow(), sql, &[])?.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(sql: &'static str) -> Query {
        Query::new(sql)
    }

    #[test]
    fn values_come_back_with_d1_types() {
        let db = Db::open_migrated().unwrap();
        let r = db.run(&q("SELECT 1 AS i, 1.5 AS f, 'x' AS t, NULL AS n, x'0102' AS b")).unwrap();
        assert_eq!(
            Value::Object(r.rows[0].clone()),
            serde_json::json!({"i": 1, "f": 1.5, "t": "x", "n": null, "b": [1, 2]})
        );
        assert_eq!(r.changes, 0);
    }

    #[test]
    fn one_statement_per_call() {
        let db = Db::open_migrated().unwrap();
        assert!(db.run(&q("SELECT 1; SELECT 2")).is_err());
    }

    #[test]
    fn changes_count_written_rows_only() {
        let db = Db::open_migrated().unwrap();
        let ins = || {
            Query::new("INSERT INTO client_assertion_jtis (id, expires_at) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING")
                .bind("j")
                .bind(5i64)
        };
        assert_eq!(db.run(&ins()).unwrap().changes, 1);
        assert_eq!(db.run(&ins()).unwrap().changes, 0);
        assert_eq!(db.run(&q("SELECT * FROM client_assertion_jtis")).unwrap().changes, 0);
    }

    #[test]
    fn a_batch_is_all_or_nothing() {
        let db = Db::open_migrated().unwrap();
        let ok = Query::new("INSERT INTO client_assertion_jtis (id, expires_at) VALUES ('a', 1)");
        let bad = Query::new("INSERT INTO no_such_table VALUES (1)");
        assert!(db.batch(&[ok.clone(), bad]).is_err());
        assert!(db.run_raw("SELECT * FROM client_assertion_jtis").unwrap().is_empty());
        let again = Query::new("INSERT INTO client_assertion_jtis (id, expires_at) VALUES ('a', 2)");
        assert!(db.batch(&[ok, again]).is_err(), "a constraint violation fails the batch");
        assert!(db.run_raw("SELECT * FROM client_assertion_jtis").unwrap().is_empty());
    }
}
