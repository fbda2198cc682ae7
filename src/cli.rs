//! Command-line syntax: raw clap structs, resolved into work by `commands`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  challenge init my-work               make a learner workspace (then cd my-work)
  challenge list                       what there is to do, and your progress
  challenge start 1                    copy challenge 1's template into ./01-rate-limiter
  challenge test 1                     build ./01-rate-limiter and run the visible scenarios
  challenge hint 1                     a hint, gentlest first
  challenge grade solutions            grade every crate under solutions/, hidden scenarios included
  challenge grade path/to/crate --format json > results.json
  challenge grade class --jobs 4                   grade a directory per student into gradebook.db
  challenge grades show alice                      a student's latest grades, every scenario
  challenge grades export --format csv > grades.csv";

/// Learn and grade backend-systems engineering: real concurrency, virtual time, exact boundaries.
#[derive(Debug, Parser)]
#[command(name = "challenge", version = version(), after_help = EXAMPLES)]
pub struct Cli {
    /// When to use colors (NO_COLOR is honoured under auto).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// The directory holding `challenges/` (default: the checkout of the course repository
    /// around the current directory, else the catalogue built into this binary).
    #[arg(long, global = true, env = "CHALLENGE_CATALOG", value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `challenge --version`: the tool, the harness ABI it speaks, and the catalogue it carries.
fn version() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "{} (harness ABI v{}, {:016x}; {} challenges built in)",
            env!("CARGO_PKG_VERSION"),
            challenge_harness::ffi::ABI_VERSION,
            challenge_harness::ffi::ABI_HASH,
            crate::embedded::challenge_count()
        )
    })
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a learner workspace: a README, a copy of the harness at this tool's ABI, a Cargo
    /// workspace for the crates you start, a .gitignore and your progress.
    #[command(after_help = "Examples:\n  challenge init my-work            then: cd my-work && challenge start 1\n  challenge init                    make the current directory a workspace\n  challenge init --update-harness   after upgrading challenge: refresh .challenge/harness")]
    Init {
        /// Where (default: the current directory; with --update-harness, the workspace around it).
        dir: Option<PathBuf>,
        /// Replace the workspace's harness copy with this tool's (your crates are not touched).
        #[arg(long)]
        update_harness: bool,
    },
    /// List the challenges and your status on each.
    #[command(after_help = "Examples:\n  challenge list")]
    List,
    /// Print a challenge's brief.
    #[command(after_help = "Examples:\n  challenge show 1\n  challenge show rate-limiter | less")]
    Show {
        /// Number or slug, e.g. `1` or `rate-limiter`.
        challenge: String,
    },
    /// Create your solution crate from the challenge's template.
    #[command(after_help = "Examples:\n  challenge start 1\n  challenge start 1 --dir ~/work/limiter\n  challenge start 1 --editor        open src/lib.rs in $EDITOR")]
    Start {
        /// Number or slug.
        challenge: String,
        /// Where to create it (default: ./NN-slug). Existing work is never overwritten.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Open src/lib.rs in an editor afterwards: the one named, or $EDITOR.
        #[arg(long, value_name = "EDITOR", num_args = 0..=1, default_missing_value = "")]
        editor: Option<String>,
    },
    /// Build your solution and run the visible scenarios.
    #[command(after_help = "Examples:\n  challenge test 1\n  challenge test 1 --solution path/to/crate\n  challenge test 1 --format json > report.json")]
    Test {
        /// Number or slug.
        challenge: String,
        /// Your crate (default: ./NN-slug).
        #[arg(long)]
        solution: Option<PathBuf>,
        /// Output format; machine formats go to stdout and the human report to stderr.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Build and run your crate inside a bubblewrap sandbox (no network, read-only file
        /// system), as `grade` does; without bubblewrap it says so and runs unconfined.
        #[arg(long)]
        sandbox: bool,
        /// Run every seeded scenario with this seed instead of its own: the seed a report
        /// printed replays that run.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Show the next hint: each call reveals one more tier, starting with the hint for the
    /// scenario your last test failed first.
    #[command(after_help = "Examples:\n  challenge hint 1          the next tier\n  challenge hint 1 --all    every tier")]
    Hint {
        /// Number or slug.
        challenge: String,
        /// Show every tier.
        #[arg(long)]
        all: bool,
    },
    /// Rebuild and rerun the visible scenarios whenever you save; keys: h hint, n next, l list, r rerun, q quit.
    #[command(after_help = "Examples:\n  challenge watch 1\n  challenge watch 1 --solution path/to/crate")]
    Watch {
        /// Number or slug.
        challenge: String,
        /// Your crate (default: ./NN-slug).
        #[arg(long)]
        solution: Option<PathBuf>,
    },
    /// Show the reference solution: once you have passed, or with --force.
    #[command(after_help = "Examples:\n  challenge solution 1")]
    Solution {
        /// Number or slug.
        challenge: String,
        /// Show it even though you have not passed yet.
        #[arg(long)]
        force: bool,
    },
    /// Your progress on every challenge.
    #[command(after_help = "Examples:\n  challenge progress")]
    Progress,
    /// Restore a challenge's template over your crate, after asking.
    #[command(after_help = "Examples:\n  challenge reset 1\n  challenge reset 1 --yes            no question (for scripts)")]
    Reset {
        /// Number or slug.
        challenge: String,
        /// Your crate (default: ./NN-slug).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  challenge completions bash > ~/.local/share/bash-completion/completions/challenge\n  challenge completions zsh > ~/.zfunc/_challenge")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Tools for challenge authors.
    #[command(subcommand, after_help = "Examples:\n  challenge dev check\n  challenge dev new token-limits --system rate-limiter")]
    Dev(DevCommand),
    /// Read the gradebook: the latest grade per student and challenge, or a subcommand.
    #[command(after_help = "Examples:\n  challenge grades\n  challenge grades show alice\n  challenge grades history alice 1\n  challenge grades export --format csv > grades.csv\n  challenge grades merge shard-*.db --into class.db")]
    Grades {
        /// The gradebook to read.
        #[arg(long, env = "CHALLENGE_GRADEBOOK", default_value = "gradebook.db", value_name = "PATH", global = true)]
        gradebook: PathBuf,
        /// What to show (default: the latest grades).
        #[command(subcommand)]
        command: Option<GradesCommand>,
    },
    /// Grade solution crates with every scenario, hidden ones included, into the gradebook.
    #[command(after_help = "Examples:\n  challenge grade solutions\n  challenge grade . --format github     a learner workspace (a student's repository in CI)\n  challenge grade class --jobs 4\n  challenge grade class --shard 2/4 --gradebook shard-2.db\n  challenge grade path/to/crate --format junit > junit.xml")]
    Grade {
        /// Crates, directories of crates (such as `solutions`), classes (a directory per student,
        /// each holding a crate per challenge), learner workspaces (every started challenge), or
        /// directories holding a `submissions.toml`.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The challenge they solve (default: inferred from each crate's directory name).
        #[arg(long)]
        challenge: Option<String>,
        /// The student, when grading a single crate (default: its directory name).
        #[arg(long)]
        student: Option<String>,
        /// The SQLite gradebook that keeps every attempt.
        #[arg(long, env = "CHALLENGE_GRADEBOOK", default_value = "gradebook.db", value_name = "PATH")]
        gradebook: PathBuf,
        /// Grade again even submissions already graded with the same source and tool version.
        #[arg(long)]
        regrade: bool,
        /// Submissions graded at once (default: the number of cores).
        #[arg(long, value_name = "N")]
        jobs: Option<usize>,
        /// Grade only shard I of N (1-based), for a CI matrix; every student lands in one shard.
        #[arg(long, value_name = "I/N", value_parser = parse_shard)]
        shard: Option<(u32, u32)>,
        /// Output format; machine formats go to stdout and the human report to stderr.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

/// `challenge dev …`: for authors of challenges.
#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Validate the whole catalogue: specs, rubrics, hints, briefs; every reference solution
    /// scores 100% and every template builds and does not pass.
    Check,
    /// Scaffold a new challenge: spec, brief, template and reference solution.
    New {
        /// The new challenge's slug, e.g. `token-service`.
        slug: String,
        /// The grader it uses, e.g. `rate-limiter`.
        #[arg(long)]
        system: String,
    },
    /// Grade the same crates several times and check that no untimed scenario's verdict or
    /// points ever change; print how the timed ones fared and each crate's score in every run;
    /// exit 1 if any untimed one varied.
    #[command(after_help = "Examples:\n  challenge dev repeat --runs 20 solutions/01-rate-limiter\n  challenge dev repeat --runs 20 --challenge 4 tests/fixtures/buggy-queue/slow tests/fixtures/buggy-queue/correct")]
    Repeat {
        /// Crates (or directories of crates) to grade.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Number or slug: every crate solves this one.
        #[arg(long)]
        challenge: Option<String>,
        /// How many times.
        #[arg(long, default_value_t = 20)]
        runs: u32,
        /// Leave out the scenarios timed against the reference (much faster).
        #[arg(long)]
        untimed: bool,
    },
}

/// `challenge grades …`: reading and combining gradebooks.
#[derive(Debug, Subcommand)]
pub enum GradesCommand {
    /// One student's latest grade on each challenge, with every scenario (hidden ones included).
    Show {
        /// The student.
        student: String,
    },
    /// Every graded run of one student on one challenge, oldest first.
    History {
        /// The student.
        student: String,
        /// Number or slug.
        challenge: String,
    },
    /// The latest grades, one row per student and a column per challenge.
    Export {
        /// `csv` or `json`.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
    },
    /// Merges gradebooks (for example, one per CI shard) into one, without duplicating runs.
    Merge {
        /// Gradebooks to read.
        #[arg(required = true)]
        sources: Vec<PathBuf>,
        /// The gradebook to merge into (created if missing).
        #[arg(long, value_name = "PATH")]
        into: PathBuf,
    },
}

/// `grades export --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON document.
    Json,
}

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Color on a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A report for people.
    Human,
    /// One JSON document on stdout.
    Json,
    /// JUnit XML on stdout: a testsuite per submission, a testcase per scenario.
    Junit,
    /// Gradescope's results.json on stdout, for one submission.
    Gradescope,
    /// GitHub Actions annotations on stdout, and a Markdown job summary in $GITHUB_STEP_SUMMARY.
    Github,
}

impl Format {
    /// Whether this format owns stdout, so the human report goes to stderr.
    pub fn is_machine(self) -> bool {
        match self {
            Format::Human => false,
            Format::Json | Format::Junit | Format::Gradescope | Format::Github => true,
        }
    }
}

/// `--shard 2/4` → `(2, 4)`.
fn parse_shard(text: &str) -> Result<(u32, u32), String> {
    let parsed = text.split_once('/').and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((i, n)) if n >= 1 && (1..=n).contains(&i) => Ok((i, n)),
        _ => Err(format!("{text:?} is not a shard: write I/N with 1 <= I <= N, such as 2/4")),
    }
}
