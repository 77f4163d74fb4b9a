//! `say!` and `complain!`: lines on stdout and stderr that a closed pipe cannot turn into a panic.

/// Prints a line on stdout. A closed stdout (`orderflow run … | head -1`) is no reason to stop:
/// the error is ignored, where `println!` would panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Prints a line on stderr, ignoring a closed stderr as [`say!`] does for stdout.
macro_rules! complain {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

pub(crate) use {complain, say};
