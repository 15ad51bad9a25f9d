//! Records as a Markdown table, the form `hefty bench` prints.

use super::Record;

/// Formats nanoseconds with a readable unit.
fn human_time(ns: f64) -> String {
    match ns {
        x if x < 1e3 => format!("{x:.0} ns"),
        x if x < 1e6 => format!("{:.2} µs", x / 1e3),
        x if x < 1e9 => format!("{:.2} ms", x / 1e6),
        x => format!("{:.2} s", x / 1e9),
    }
}

/// Renders records as a Markdown table: scheme, op, parameters, backend,
/// threads, median, samples, and butterflies per ns where measured.
///
/// ```
/// use hefty::bench::{Record, Schema, render_table};
/// let r = Record { scheme: Schema::Ntt, op: "ntt_forward".into(),
///     params: serde_json::json!({"n": 4096}), backend: "cpu".into(),
///     threads: 1, median_ns: 7260.0, samples: 100, kernel_ns: None,
///     butterflies_per_ns: Some(3.39) };
/// assert!(render_table(&[r]).contains("7.26 µs"));
/// ```
pub fn render_table(records: &[Record]) -> String {
    let mut out = String::from(
        "| scheme | op | params | backend | threads | median | samples | bfly/ns |\n|---|---|---|---|---:|---:|---:|---:|\n",
    );
    for r in records {
        let params = match r.params.as_object() {
            Some(map) => map
                .iter()
                .map(|(k, v)| format!("{k}={}", v.to_string().trim_matches('"')))
                .collect::<Vec<_>>()
                .join(" "),
            None => r.params.to_string(),
        };
        let scheme = serde_json::to_value(r.scheme)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        out.push_str(&format!(
            "| {scheme} | {} | {params} | {} | {} | {} | {} | {} |\n",
            r.op,
            r.backend,
            r.threads,
            match r.kernel_ns {
                // The device's own clock, compute passes only.
                Some(k) => format!("{} (kernels {})", human_time(r.median_ns), human_time(k)),
                None => human_time(r.median_ns),
            },
            r.samples,
            r.butterflies_per_ns
                .map(|b| format!("{b:.2}"))
                .unwrap_or_default(),
        ));
    }
    out
}
