//! Usage errors that help: an option of another command, given to this one, is named as such
//! (`--speed` is an option of `orderflow run`) instead of clap's tip to pass it as a value.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser};

use super::Cli;

/// Parses the command line as [`Cli::parse`] does, with a better tip for an option that
/// belongs to another command; exits with status 2 on a usage error.
pub(crate) fn parse() -> Cli {
    parse_from(std::env::args_os()).unwrap_or_else(|error| error.exit())
}

/// [`parse`] of `args` (the program's name first), without exiting.
pub(crate) fn parse_from(args: impl IntoIterator<Item = OsString>) -> Result<Cli, clap::Error> {
    let args: Vec<OsString> = args.into_iter().collect();
    Cli::try_parse_from(&args).map_err(|error| with_tip(error, &args))
}

/// `error` with its tip replaced when it is an unknown option that another command takes.
fn with_tip(mut error: clap::Error, args: &[OsString]) -> clap::Error {
    if error.kind() != ErrorKind::UnknownArgument {
        return error;
    }
    let Some(ContextValue::String(given)) = error.get(ContextKind::InvalidArg) else {
        return error;
    };
    let option = given.split('=').next().unwrap_or(given);
    let Some(long) = option.strip_prefix("--").filter(|long| !long.is_empty()) else {
        return error;
    };
    let cli = Cli::command();
    let used = args
        .iter()
        .skip(1)
        .filter_map(|arg| arg.to_str())
        .find(|arg| cli.find_subcommand(arg).is_some());
    let Some(used) = used else { return error };
    let owners: Vec<String> = cli
        .get_subcommands()
        .filter(|command| command.get_name() != used)
        .filter(|command| {
            command
                .get_arguments()
                .any(|arg| arg.get_long() == Some(long))
        })
        .map(|command| format!("`orderflow {}`", command.get_name()))
        .collect();
    let why = match (used, long) {
        ("process", "speed") => " (process always runs as fast as it can)",
        ("process", "host" | "port") => " (process serves no page: `orderflow run` does)",
        _ => "",
    };
    let owners = match owners.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => return error,
    };
    let tip = format!("`--{long}` is an option of {owners}, not of `orderflow {used}`{why}");
    error.insert(
        ContextKind::Suggested,
        ContextValue::StyledStrs(vec![tip.into()]),
    );
    error
}

#[cfg(test)]
mod tests {
    use super::parse_from;

    fn tip(line: &str) -> String {
        let args = line.split(' ').map(Into::into);
        let error = parse_from(args).expect_err("a usage error");
        assert_eq!(error.exit_code(), 2);
        error.render().to_string()
    }

    #[test]
    fn an_option_of_another_command_is_named_as_such() {
        let text = tip("orderflow process BTC-USDT 2025-01-15 2025-01-15 --speed 2");
        assert!(
            text.contains("`--speed` is an option of `orderflow run` and `orderflow demo`"),
            "{text}"
        );
        assert!(!text.contains("-- --speed"), "{text}");
        let text = tip("orderflow serve --no-such-option");
        assert!(text.contains("unexpected argument"), "{text}");
        assert!(!text.contains("is an option of"), "{text}");
    }
}
