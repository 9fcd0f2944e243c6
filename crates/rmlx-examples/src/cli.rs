//! The examples' command-line frame: usage errors (exit code 2 with a hint to `--help`),
//! other errors (exit code 1), `--help` text.

use std::process::ExitCode;

/// A command-line mistake: printed with a hint to `--help`, exit code 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// A [`Usage`] error as an `anyhow::Error`.
///
/// ```
/// let e = rmlx_examples::cli::usage("unknown argument '--x'");
/// assert!(e.is::<rmlx_examples::cli::Usage>());
/// ```
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage(msg.into()))
}

/// Runs an example: `parse` returns `None` for `--help` (then `help` is printed), usage errors
/// exit with code 2, other errors with code 1.
///
/// ```
/// use rmlx_examples::cli::{run_main, usage};
/// let code = run_main("help\n", vec!["--bad".into()], |_| Err::<Option<()>, _>(usage("bad")), |_| Ok(()));
/// assert_eq!(code, std::process::ExitCode::from(2));
/// ```
pub fn run_main<A>(
    help: &str,
    argv: Vec<String>,
    parse: impl FnOnce(Vec<String>) -> anyhow::Result<Option<A>>,
    run: impl FnOnce(A) -> anyhow::Result<()>,
) -> ExitCode {
    let args = match parse(argv) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{help}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e:#}\n(run with --help for the options)");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Usage>() => {
            eprintln!("error: {e:#}\n(run with --help for the options)");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
