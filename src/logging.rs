//! Logs of the network side (`tracing`), written to stderr so stdout keeps
//! only results. `RUST_LOG` overrides the default filter, for example
//! `RUST_LOG=flow_executor=debug`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the stderr logger once; `default` is the filter used when
/// `RUST_LOG` is not set.
pub fn init(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .try_init();
}
