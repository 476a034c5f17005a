//! JS data files: a script whose completion value is plain data (a test spec
//! written in JavaScript, with comments and computed values), turned into
//! JSON text. It runs in a runtime of its own with the session limits and
//! none of the VoxEngine API.

use rquickjs::{Context, Ctx, Value};

use crate::limits::{self, CpuBudget};
use crate::ScriptConfig;

/// Evaluates `source` and returns its completion value (the value of its
/// last expression statement) as JSON. `name` is used in error messages.
pub fn evaluate_to_json(name: &str, source: &str) -> Result<String, String> {
    let cfg = ScriptConfig::default();
    let budget = CpuBudget::new(cfg.cpu_budget);
    let (runtime, _memory) =
        limits::runtime(&cfg, &budget).map_err(|e| format!("{name}: no JS runtime: {e}"))?;
    let context = Context::full(&runtime).map_err(|e| format!("{name}: no JS context: {e}"))?;
    context.with(|ctx| {
        budget.begin();
        let result = eval(&ctx, name, source);
        budget.end();
        if budget.tripped() {
            return Err(format!(
                "{name}: ran longer than {} ms",
                budget.budget().as_millis()
            ));
        }
        result
    })
}

fn eval<'js>(ctx: &Ctx<'js>, name: &str, source: &str) -> Result<String, String> {
    let value: Value<'js> = match ctx.eval(source) {
        Ok(v) => v,
        Err(e) => return Err(exception_text(ctx, name, e)),
    };
    if value.is_undefined() {
        return Err(format!(
            "{name}: the file's last statement must be the spec value, e.g. ({{ expect: [] }})"
        ));
    }
    match ctx.json_stringify(value) {
        Ok(Some(json)) => json
            .to_string()
            .map_err(|e| format!("{name}: the spec is not valid text: {e}")),
        Ok(None) => Err(format!("{name}: the spec value has no JSON form")),
        Err(e) => Err(exception_text(ctx, name, e)),
    }
}

fn exception_text(ctx: &Ctx<'_>, name: &str, error: rquickjs::Error) -> String {
    if !matches!(error, rquickjs::Error::Exception) {
        return format!("{name}: {error}");
    }
    let caught = ctx.catch();
    let field = |key: &str| -> Option<String> {
        caught
            .as_object()?
            .get::<_, Option<rquickjs::String>>(key)
            .ok()
            .flatten()
            .and_then(|s| s.to_string().ok())
    };
    match (field("name"), field("message")) {
        (Some(kind), Some(message)) => {
            let line = field("stack")
                .and_then(|s| s.lines().find_map(line_of))
                .map(|l| format!(":{l}"))
                .unwrap_or_default();
            format!("{name}{line}: {kind}: {message}")
        }
        _ => format!("{name}: uncaught exception"),
    }
}

/// `N` from a stack frame like `    at <eval> (eval_script:N:C)`.
fn line_of(frame: &str) -> Option<u32> {
    let inner = frame.rsplit_once('(')?.1.trim_end_matches(')');
    let mut parts = inner.rsplit(':');
    let _column = parts.next()?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_expression_is_the_spec() {
        let json = evaluate_to_json(
            "t.spec.js",
            "// a comment\nconst press = (at, d) => ({ at, dtmf: d });\n\
             ({ events: [press(1000, '1'), press(2000, '#')], expect: [{ answered: true }] })",
        )
        .unwrap();
        assert_eq!(
            json,
            r##"{"events":[{"at":1000,"dtmf":"1"},{"at":2000,"dtmf":"#"}],"expect":[{"answered":true}]}"##
        );
    }

    #[test]
    fn errors_name_the_file() {
        let err = evaluate_to_json("t.spec.js", "({ a: 1 ").unwrap_err();
        assert!(err.starts_with("t.spec.js"), "{err}");
        let err = evaluate_to_json("t.spec.js", "const x = 1;").unwrap_err();
        assert!(err.contains("last statement"), "{err}");
        let err = evaluate_to_json("t.spec.js", "\nthrow new RangeError('no');").unwrap_err();
        assert!(err.contains("RangeError: no"), "{err}");
        let err = evaluate_to_json("t.spec.js", "while (true) {}").unwrap_err();
        assert!(err.contains("ran longer"), "{err}");
        assert!(evaluate_to_json("t.spec.js", "VoxEngine").is_err());
    }
}
