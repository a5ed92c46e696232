//! The metrics' global counters: table `metrics` (name, labels, value), added to by each
//! isolate's flushes ([`crate::metrics`]) and read whole by `/metrics/prometheus`.

use crate::metrics::Sample;
use crate::platform::{col_i64, col_str, PResult, Platform, Query};

/// One UPSERT per counter: the flush batch (run after the response, one round trip).
pub fn upsert(samples: &[Sample]) -> Vec<Query> {
    samples
        .iter()
        .map(|s| {
            Query::new(
                "INSERT INTO metrics (name, labels, value) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value",
            )
            .bind(s.name.as_str())
            .bind(s.labels.as_str())
            .bind(s.value.min(i64::MAX as u64) as i64)
        })
        .collect()
}

/// Every stored counter.
pub async fn read_all<P: Platform>(p: &P) -> PResult<Vec<Sample>> {
    let r = p.sql(Query::new("SELECT name, labels, value FROM metrics")).await?;
    Ok(r.rows
        .iter()
        .map(|row| Sample {
            name: col_str(row, "name"),
            labels: col_str(row, "labels"),
            value: col_i64(row, "value").max(0) as u64,
        })
        .collect())
}
