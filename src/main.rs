use std::process::ExitCode;

use clap::Parser;
use golock::apply::ApplyError;
use golock::cli::{self, Cli, ColorChoice, CommandError, exit};
use golock::txn::interrupt;

fn main() -> ExitCode {
    let cli = Cli::parse();
    install_error_hook(cli.global.color);
    match cli::run(&cli) {
        Ok(code) => {
            if let Some(signal) = interrupt::received() {
                eprintln!("golock: {signal} arrived after the commit: the apply completed");
            }
            ExitCode::from(code)
        }
        Err(CommandError::Apply(ApplyError::Interrupted { signal })) => {
            eprintln!("golock: interrupted: rolled back, nothing changed ({signal})");
            ExitCode::from(signal.exit_code())
        }
        Err(err) => {
            eprintln!("{:?}", miette::Report::new(err));
            ExitCode::from(exit::ERROR)
        }
    }
}

fn install_error_hook(color: ColorChoice) {
    let opts = miette::MietteHandlerOpts::new();
    let opts = match color {
        ColorChoice::Always => opts.color(true),
        ColorChoice::Never => opts.color(false),
        ColorChoice::Auto => opts,
    };
    let _ = miette::set_hook(Box::new(move |_| Box::new(opts.clone().build())));
}
