//! How output is drawn: colors, box characters and width for diagnostics on
//! standard error.

use std::io::IsTerminal;

use clap::ValueEnum;
use flow_lang::render::RenderOptions;

/// The `--color` flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Color when standard error is a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always color, even into a pipe.
    Always,
    /// Never color.
    Never,
}

/// Width used when standard error is not a terminal, so logs and tests see
/// the same wrapping on every machine.
const DEFAULT_WIDTH: usize = 100;

/// Everything a subcommand needs to know about where its diagnostics go.
#[derive(Clone, Copy, Debug)]
pub struct Terminal {
    pub render: RenderOptions,
}

impl Terminal {
    pub fn for_stderr(choice: ColorChoice) -> Terminal {
        let stderr = std::io::stderr();
        let is_terminal = stderr.is_terminal();
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && !no_color_requested(),
        };
        let width = if is_terminal {
            terminal_size::terminal_size_of(&stderr)
                .map_or(DEFAULT_WIDTH, |(width, _)| usize::from(width.0))
        } else {
            DEFAULT_WIDTH
        };
        Terminal {
            render: RenderOptions {
                color,
                // Box-drawing characters only where a person looks at them.
                unicode: is_terminal || choice == ColorChoice::Always,
                width,
            },
        }
    }
}

/// `NO_COLOR` set to anything but the empty string turns colors off
/// (<https://no-color.org>).
fn no_color_requested() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty())
}
