//! Text format of session lines: `TIME LEVEL session=ID kind=KIND message k=v…`,
//! so the session id is always in the same place.

use std::fmt::{self, Write as _};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

pub struct SessionLine;

#[derive(Default)]
struct Fields {
    session: String,
    kind: String,
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "session" => self.session = value.to_string(),
            "kind" => self.kind = value.to_string(),
            "message" => self.message = value.to_string(),
            name => {
                let _ = write!(self.rest, " {name}={value:?}");
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "session" => self.session = format!("{value:?}"),
            "kind" => self.kind = format!("{value:?}").trim_matches('"').to_string(),
            "message" => self.message = format!("{value:?}"),
            name => {
                let _ = write!(self.rest, " {name}={value:?}");
            }
        }
    }
}

impl<S, N> FormatEvent<S, N> for SessionLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut f = Fields::default();
        event.record(&mut f);
        let level = event.metadata().level();
        // One line per record: a message with a newline (a JS stack) is folded.
        let message = f.message.replace('\n', " | ");
        SystemTime.format_time(&mut w)?;
        writeln!(
            w,
            " {level:>5} session={} kind={} {message}{}",
            f.session, f.kind, f.rest
        )
    }
}
