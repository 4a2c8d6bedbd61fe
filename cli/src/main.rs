//! `xbuf`: reads any binary file through a PEP 3118 format.
//!
//! - `xbuf show FILE --format F`: the items, as an aligned table, JSON or hex;
//! - `xbuf format F`: the layout of a format, field by field (what `pahole` shows for C
//!   structs);
//! - `xbuf stat FILE --format F`: item count and, per numeric field, min/max/mean/NaN count.
//!
//! Files are memory-mapped, never read whole. Every bad input is a one-line error on stderr
//! and exit status 2.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod input;
mod layout;
mod show;
mod stat;
mod table;

/// Read any binary file through a PEP 3118 format.
#[derive(Parser, Debug)]
#[command(name = "xbuf", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show a file's items: a table (up to 2-D), JSON or hex.
    Show(ShowArgs),
    /// Show the layout of a format: fields, offsets, sizes, padding, alignment, byte order.
    Format {
        /// The format, in PEP 3118 struct syntax (e.g. 'T{<I:id:(3)<f:pos:4s:tag:}').
        format: String,
    },
    /// Count a file's items and summarise each numeric field (min, max, mean, NaN count).
    Stat(InputArgs),
}

/// Which file, read how.
#[derive(Args, Debug)]
pub struct InputArgs {
    /// The file to read (memory-mapped).
    pub file: std::path::PathBuf,
    /// The item format, in PEP 3118 struct syntax (e.g. '<f', 'T{<I:id:(3)<f:pos:}').
    #[arg(short, long)]
    pub format: String,
    /// The shape, extents separated by commas (e.g. 100,3; one extent may be -1); default:
    /// one dimension of as many items as the file holds.
    #[arg(long, allow_hyphen_values = true)]
    pub shape: Option<String>,
    /// Bytes to skip at the start of the file.
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
    /// How the shape lies in the file: C (row-major) or F (column-major).
    #[arg(long, value_enum, default_value_t = Order::C)]
    pub order: Order,
}

/// Memory order of the items in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Order {
    /// Row-major: the last index varies fastest.
    #[value(name = "C", alias = "c")]
    C,
    /// Column-major: the first index varies fastest.
    #[value(name = "F", alias = "f")]
    F,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Python slices, one per dimension, separated by commas (e.g. '10:20, ::2').
    #[arg(long, allow_hyphen_values = true)]
    pub slice: Option<String>,
    /// Show at most N entries of the first dimension (default 20; the total is shown).
    #[arg(long, value_name = "N", conflicts_with = "all")]
    pub head: Option<usize>,
    /// Show every entry.
    #[arg(long)]
    pub all: bool,
    /// Aligned columns: one row per entry of the first dimension (default up to 2-D).
    #[arg(long, group = "output")]
    pub table: bool,
    /// Nested JSON lists, values as json.dumps writes them (default above 2-D).
    #[arg(long, group = "output")]
    pub json: bool,
    /// The bytes in hexadecimal, 16 to a line, offsets from the start of the file.
    #[arg(long, group = "output")]
    pub hex: bool,
}

/// A failure reported to the user: one line, exit status 2.
#[derive(Debug)]
pub struct Failure(pub String);

impl From<xbuf::Error> for Failure {
    fn from(e: xbuf::Error) -> Failure {
        Failure(e.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure(format!("writing the output: {e}"))
    }
}

/// Shorthand for a failure with a formatted message.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => { return Err($crate::Failure(format!($($arg)*))) };
}

fn run(cli: Cli, out: &mut dyn Write) -> Result<(), Failure> {
    match cli.command {
        Command::Show(args) => show::run(&args, out),
        Command::Format { format } => layout::run(&format, out),
        Command::Stat(args) => stat::run(&args, out),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            // clap's first paragraph names the problem (over one or more lines); the rest is
            // usage, which --help shows.
            let text = e.render().to_string();
            let first: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
                .collect();
            let first = first.join(" ");
            let first = first.strip_prefix("error: ").unwrap_or(&first);
            eprintln!("xbuf: {first} (see xbuf --help)");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = run(cli, &mut out).and_then(|()| out.flush().map_err(Failure::from));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away (`xbuf show big | head`) is not an error.
        Err(Failure(msg)) if msg.contains("Broken pipe") => ExitCode::SUCCESS,
        Err(Failure(msg)) => {
            eprintln!("xbuf: {msg}");
            ExitCode::from(2)
        }
    }
}
