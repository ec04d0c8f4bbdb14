//! The command line: argument definitions and dispatch to the library. `main.rs` only calls [`main`].

mod args;
mod delete;
mod describe;
mod list;
mod mirror;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command};

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    // Usage errors exit 1: 2 and above are the failed-group bitmask of DESIGN's exit codes.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() { 1 } else { 0 };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Mirror(args) => mirror::run(*args),
        Command::Delete(args) => delete::run(*args),
        Command::Validate(args) => validate(&args.config),
        Command::Describe(args) => describe::run(&args),
        Command::List(args::ListCommand::Operators(args)) => list::run(&args),
        Command::Tui(args) => crate::tui::run(crate::tui::Options {
            config: args.config,
            catalogs: args.catalogs,
            output: args.output,
            from: args.from,
            library: crate::tui::commands::LibraryOptions {
                src_tls_verify: args.registry.src_tls_verify,
                authfile: args.registry.authfile,
                registries_conf: args.registry.registries_conf,
                platforms: args.registry.platforms,
            },
        }),
        Command::Completion(args) => completion(args.shell),
        Command::Man => man_page(),
        Command::Init => {
            print!("{}", crate::config::TEMPLATE);
            0
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn validate(path: &std::path::Path) -> i32 {
    match crate::config::load_any(path) {
        Ok(crate::config::AnyConfig::ImageSet(config)) => {
            for warning in config.warnings() {
                eprintln!(
                    "warning: `{}`: {}\n  help: {}",
                    warning.field, warning.message, warning.help
                );
            }
            let mirror = &config.spec.mirror;
            println!(
                "{}: valid ImageSetConfiguration: {} release channels, {} catalogs, {} additional images, {} helm charts, {} blocked images",
                path.display(),
                mirror.platform.channels.len(),
                mirror.operators.len(),
                mirror.additional_images.len(),
                mirror.helm.local.len() + mirror.helm.repositories.iter().map(|r| r.charts.len()).sum::<usize>(),
                mirror.blocked_images.len()
            );
            0
        }
        Ok(crate::config::AnyConfig::Delete(_)) => {
            println!("{}: valid DeleteImageSetConfiguration", path.display());
            0
        }
        Err(error) => {
            eprintln!("error: {error}");
            1
        }
    }
}

/// Writes the completion script for `shell` to stdout.
fn completion(shell: args::Shell) -> i32 {
    let shell = match shell {
        args::Shell::Bash => clap_complete::Shell::Bash,
        args::Shell::Zsh => clap_complete::Shell::Zsh,
        args::Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "ferry", &mut std::io::stdout());
    0
}

/// Writes the man page (roff) to stdout.
fn man_page() -> i32 {
    let command = <Cli as clap::CommandFactory>::command();
    match clap_mangen::Man::new(command).render(&mut std::io::stdout()) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("error: cannot write the man page: {error}");
            1
        }
    }
}
