use std::process::ExitCode;

use golock::cli::{self, ColorChoice};

fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(code) => return ExitCode::from(code),
    };
    install_error_hook(cli.global.color);
    ExitCode::from(cli::finish(cli::run(&cli)))
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
