//! Reports for machines: JSON (one object per run) and JUnit XML (one test
//! case per scenario) for CI.

use serde_json::{json, Value};

use crate::expect::{Action, Expectation};
use crate::report::{Happened, Report};

/// A report with the files it came from.
pub struct Named<'a> {
    pub scenario: String,
    pub spec: String,
    pub report: &'a Report,
}

fn ms(at: std::time::Duration) -> f64 {
    (at.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

impl Report {
    /// Every fact of the run: expectations with their outcome and time,
    /// script errors, and the timeline, with the events the scenario was
    /// given and its log lines also listed on their own.
    pub fn to_json(&self) -> Value {
        let at = |index: Option<usize>| index.map(|i| ms(self.timeline[i].at));
        let expectations: Vec<Value> = self
            .outcomes
            .iter()
            .map(|o| {
                let not = matches!(o.expectation, Expectation::Not(_));
                json!({
                    "expect": o.expectation.to_string(),
                    "passed": o.passed,
                    (if not { "broken_at_ms" } else { "at_ms" }): at(o.matched),
                })
            })
            .collect();
        let unexpected = self.unexpected_errors();
        let errors: Vec<Value> = self
            .errors()
            .into_iter()
            .filter_map(|i| match &self.timeline[i].what {
                Happened::Action(Action::Error(text)) => Some(json!({
                    "at_ms": ms(self.timeline[i].at),
                    "text": text,
                    "expected": !unexpected.contains(&i),
                })),
                _ => None,
            })
            .collect();
        let mut timeline = Vec::with_capacity(self.timeline.len());
        let mut events = Vec::new();
        let mut logs = Vec::new();
        for entry in &self.timeline {
            let at_ms = ms(entry.at);
            // Lines of a session other than the spec's (a conference
            // session) say which.
            let line = |text: &str| {
                let mut value = json!({ "at_ms": at_ms, "text": text });
                if let (Some(name), Some(map)) = (&entry.session, value.as_object_mut()) {
                    map.insert("session".into(), json!(name));
                }
                value
            };
            let (kind, text) = match &entry.what {
                Happened::Action(Action::Log(text)) => {
                    logs.push(line(text));
                    ("action", format!("log {text:?}"))
                }
                Happened::Action(action) => ("action", action.to_string()),
                Happened::World(what) => ("world", what.clone()),
                Happened::Event(text) => {
                    events.push(line(text));
                    ("event", text.clone())
                }
            };
            let mut value = line(&text);
            if let Some(map) = value.as_object_mut() {
                map.insert("kind".into(), json!(kind));
            }
            timeline.push(value);
        }
        json!({
            "passed": self.passed(),
            "virtual_ms": ms(self.virtual_time),
            "wall_ms": ms(self.wall_time),
            "timed_out": self.timed_out,
            "expectations": expectations,
            "errors": errors,
            "events": events,
            "logs": logs,
            "timeline": timeline,
        })
    }
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 has no place for most control characters.
            c if c.is_control() && !matches!(c, '\n' | '\t' | '\r') => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// A JUnit XML document with one test case per report; `broken` lists
/// scenarios that could not run at all (with why), as errors.
pub fn junit(reports: &[Named<'_>], broken: &[(String, String)]) -> String {
    let failures = reports.iter().filter(|r| !r.report.passed()).count();
    let time: f64 = reports
        .iter()
        .map(|r| r.report.wall_time.as_secs_f64())
        .sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites tests=\"{}\" failures=\"{failures}\" errors=\"{}\" time=\"{time:.3}\">\n",
        reports.len() + broken.len(),
        broken.len()
    ));
    out.push_str(&format!(
        "  <testsuite name=\"dialtone test\" tests=\"{}\" failures=\"{failures}\" errors=\"{}\" time=\"{time:.3}\">\n",
        reports.len() + broken.len(),
        broken.len()
    ));
    for named in reports {
        let report = named.report;
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">\n",
            xml_escape(&named.spec),
            xml_escape(&named.scenario),
            report.wall_time.as_secs_f64()
        ));
        if !report.passed() {
            let failed = report.outcomes.iter().filter(|o| !o.passed).count()
                + report.unexpected_errors().len();
            out.push_str(&format!(
                "      <failure message=\"{failed} of the spec's checks failed\">{}</failure>\n",
                xml_escape(&report.render())
            ));
        } else {
            out.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                xml_escape(&report.render())
            ));
        }
        out.push_str("    </testcase>\n");
    }
    for (scenario, why) in broken {
        out.push_str(&format!(
            "    <testcase classname=\"{0}\" name=\"{0}\" time=\"0\">\n      <error message=\"{1}\">{1}</error>\n    </testcase>\n",
            xml_escape(scenario),
            xml_escape(why)
        ));
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_is_escaped() {
        assert_eq!(
            xml_escape("a<b & \"c\"\u{1}"),
            "a&lt;b &amp; &quot;c&quot;\\u{1}"
        );
    }
}
