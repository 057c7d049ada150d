//! `--compare BASELINE.json`: each headline figure as a ratio to an earlier run's.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

/// Figures compared, as JSON pointers into a report.
const FIGURES: &[&str] = &[
    "/records_per_sec",
    "/mb_per_sec",
    "/latency_ms/p50",
    "/latency_ms/p95",
    "/latency_ms/p99",
    "/latency_ms/p999",
    "/latency_ms/max",
];

/// `current / baseline` for each figure both documents have (baseline non-zero). Above 1 is
/// better for rates and worse for latencies.
pub fn ratios<T: serde::Serialize>(baseline: &Path, current: &T) -> Result<BTreeMap<String, f64>> {
    let text = std::fs::read_to_string(baseline)
        .with_context(|| format!("cannot read the baseline {}", baseline.display()))?;
    let base: Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not JSON: pass a file written by `chronik-bench ... --output json`",
            baseline.display()
        )
    })?;
    let now = serde_json::to_value(current).context("serialising the report")?;
    Ok(ratios_of(&base, &now))
}

fn ratios_of(base: &Value, now: &Value) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for pointer in FIGURES {
        let (Some(b), Some(n)) = (
            base.pointer(pointer).and_then(Value::as_f64),
            now.pointer(pointer).and_then(Value::as_f64),
        ) else {
            continue;
        };
        if b > 0.0 {
            let name = pointer.trim_start_matches('/').replace('/', ".");
            out.insert(name, crate::report::round3(n / b));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ratios_skip_missing_and_zero_figures() {
        let base = json!({"records_per_sec": 100.0, "mb_per_sec": 0.0,
                          "latency_ms": {"p50": 2.0}});
        let now = json!({"records_per_sec": 150.0, "mb_per_sec": 3.0,
                         "latency_ms": {"p50": 1.0, "p99": 4.0}});
        let r = ratios_of(&base, &now);
        assert_eq!(r.get("records_per_sec"), Some(&1.5));
        assert_eq!(r.get("latency_ms.p50"), Some(&0.5));
        assert_eq!(r.len(), 2, "{r:?}");
    }
}
