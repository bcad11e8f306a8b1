use std::process::ExitCode;

use clap::Parser;
use golock::cli::{Cli, ColorChoice};
use golock::commands::{self, exit};

fn main() -> ExitCode {
    let cli = Cli::parse();
    install_error_hook(cli.global.color);
    match commands::run(&cli) {
        Ok(code) => ExitCode::from(code),
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
