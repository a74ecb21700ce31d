//! `--baseline`: the metrics of this run against an earlier report.json, as
//! a Markdown table for a pull-request comment or `$GITHUB_STEP_SUMMARY`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::report::{markdown_table, Table, GATED_UNITS};

/// Just the part of a report that is compared, so an older schema still
/// reads.
#[derive(Deserialize)]
pub struct Metrics {
    pub revision: String,
    /// A quick run's programs and parameters differ from a full run's.
    #[serde(default)]
    pub quick: bool,
    pub metrics: BTreeMap<String, (f64, String)>,
}

pub struct Diff {
    pub markdown: String,
    pub regressions: Vec<String>,
}

/// Compares `new` with `old`; a gated metric (bytes, ratio to native) that
/// grew by more than `threshold` (0.05 = 5%) is a regression.
pub fn compare(old: &Metrics, new: &Metrics, threshold: f64) -> Diff {
    let mut rows = Vec::new();
    let mut regressions = Vec::new();
    let mut unchanged = 0;
    for (name, (value, unit)) in &new.metrics {
        let Some((before, _)) = old.metrics.get(name) else {
            rows.push(vec![name.clone(), "–".into(), format!("{value:.2} {unit}"), "new".into(), String::new()]);
            continue;
        };
        let change = if *before == 0.0 { 0.0 } else { value / before - 1.0 };
        let gated = GATED_UNITS.contains(&unit.as_str());
        let regressed = gated && change > threshold;
        if regressed {
            regressions.push(format!("{name} +{:.1}%", change * 100.0));
        }
        if change.abs() < 0.0005 {
            unchanged += 1;
            continue;
        }
        let verdict = match (regressed, gated, change < 0.0) {
            (true, _, _) => "❌ regression",
            (false, true, true) => "✅ better",
            _ => "",
        };
        rows.push(vec![
            name.clone(),
            format!("{before:.2} {unit}"),
            format!("{value:.2} {unit}"),
            format!("{:+.1}%", change * 100.0),
            verdict.into(),
        ]);
    }
    for name in old.metrics.keys().filter(|name| !new.metrics.contains_key(*name)) {
        rows.push(vec![name.clone(), "measured".into(), "–".into(), "gone".into(), String::new()]);
    }
    // Regressions first, then by name.
    rows.sort_by(|a, b| (!a[4].starts_with('❌'), &a[0]).cmp(&(!b[4].starts_with('❌'), &b[0])));
    let mut markdown = format!(
        "## Benchmark: {} → {}\n\n{} (threshold {:.1}% on sizes and speed ratios to native; {unchanged} metrics unchanged)\n\n",
        old.revision,
        new.revision,
        if regressions.is_empty() {
            "No regressions".to_owned()
        } else {
            format!("**{} regressions**", regressions.len())
        },
        threshold * 100.0,
    );
    if old.quick != new.quick {
        let kind = |quick: bool| if quick { "a quick run" } else { "a full run" };
        markdown.push_str(&format!(
            "⚠️ The baseline is {} and this is {}: their perf_bench figures come from different programs and parameters.\n\n",
            kind(old.quick),
            kind(new.quick)
        ));
    }
    if !rows.is_empty() {
        let headers = ["metric", "before", "after", "change", ""].map(String::from).to_vec();
        markdown.push_str(&markdown_table(&Table { headers, rows }));
    }
    Diff { markdown, regressions }
}

/// Reads `5%` or `0.05`.
pub fn parse_threshold(text: &str) -> Result<f64, String> {
    let (number, scale) = match text.strip_suffix('%') {
        Some(percent) => (percent, 0.01),
        None => (text, 1.0),
    };
    number.trim().parse::<f64>().map(|value| value * scale).map_err(|err| format!("{text:?}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(entries: &[(&str, f64, &str)]) -> Metrics {
        Metrics {
            revision: "r".into(),
            quick: false,
            metrics: entries.iter().map(|(n, v, u)| (n.to_string(), (*v, u.to_string()))).collect(),
        }
    }

    #[test]
    fn gated_growth_past_the_threshold_regresses() {
        let old = metrics(&[("size.a", 100.0, "bytes"), ("perf.x", 1.0, "x native"), ("startup.n", 1.0, "ms")]);
        let new = metrics(&[("size.a", 104.0, "bytes"), ("perf.x", 1.2, "x native"), ("startup.n", 9.0, "ms")]);
        let diff = compare(&old, &new, 0.05);
        assert_eq!(diff.regressions, vec!["perf.x +20.0%"]);
        assert!(diff.markdown.contains("| perf.x | 1.00 x native | 1.20 x native | +20.0% | ❌ regression |"));
        assert!(!diff.markdown.contains("quick run"));
        let quick = Metrics { quick: true, ..metrics(&[]) };
        assert!(compare(&old, &quick, 0.05).markdown.contains("The baseline is a full run and this is a quick run"));
        assert_eq!(parse_threshold("5%"), Ok(0.05));
        assert_eq!(parse_threshold("0.1"), Ok(0.1));
    }
}
