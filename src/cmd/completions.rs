//! `flowc completions SHELL`: prints a completion script for a shell.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Exit;

const EXAMPLES: &str = "\
EXAMPLES:
  flowc completions bash > ~/.local/share/bash-completion/completions/flowc
  flowc completions zsh > ~/.zfunc/_flowc
  flowc completions fish > ~/.config/fish/completions/flowc.fish
  flowc completions powershell >> $PROFILE";

/// Print a shell completion script on standard output.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: Shell,
}

/// Generates the script for the whole command line `C`, which is passed in
/// so this module does not depend on `main`.
pub fn run<C: CommandFactory>(args: &CompletionsArgs) -> Exit {
    let mut command = C::command();
    clap_complete::generate(args.shell, &mut command, "flowc", &mut std::io::stdout());
    Exit::Success
}
