//! SIGTERM and SIGINT, registered before start-up work begins: a stop asked
//! for while the engine is still starting (systemd stopping a unit that has
//! just started) is kept and carried out cleanly once it is up, instead of
//! killing the process half way.

use tokio::signal::unix::{signal, Signal, SignalKind};

pub struct StopSignal {
    term: Option<Signal>,
    interrupt: Option<Signal>,
}

impl StopSignal {
    /// Registers the handlers now. Must run inside the runtime.
    pub fn install() -> StopSignal {
        StopSignal {
            term: signal(SignalKind::terminate()).ok(),
            interrupt: signal(SignalKind::interrupt()).ok(),
        }
    }

    /// Until SIGTERM or SIGINT (or at once, if one came already).
    pub async fn wait(mut self) {
        let term = async {
            match self.term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let interrupt = async {
            match self.interrupt.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = term => {}
            _ = interrupt => {}
        }
    }
}
