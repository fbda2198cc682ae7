//! One module per subcommand; this one resolves what every command shares (colors, the
//! catalogue) and maps errors to exit codes.

mod completions;
mod dev;
mod grade;
mod grades;
mod hint;
mod init;
mod list;
mod progress;
mod show;
mod solution;
mod start;
mod test;
mod watch;

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::catalog::{Catalog, CatalogError};
use crate::cli::{Cli, ColorChoice, Command, DevCommand, Format};
use crate::exit;
use crate::spec::ChallengeSpec;
use crate::runner::WorkerExe;
use crate::workspace::{Workspace, WorkspaceError};

/// Why a command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The catalogue or a spec is broken, or the challenge does not exist.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The user asked for something that cannot be done as asked.
    #[error("{0}")]
    Usage(String),
    /// The gradebook cannot be used.
    #[error(transparent)]
    Gradebook(#[from] crate::gradebook::GradebookError),
    /// The class layout or manifest is wrong.
    #[error(transparent)]
    Discovery(#[from] crate::submissions::DiscoveryError),
    /// The learner's progress file cannot be used.
    #[error(transparent)]
    Progress(#[from] crate::progress::ProgressError),
    /// The learner workspace cannot be made or used as asked.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// Reading or writing failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
}

impl CommandError {
    /// The exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Catalog(_)
            | CommandError::Usage(_)
            | CommandError::Gradebook(_)
            | CommandError::Discovery(_)
            | CommandError::Progress(_)
            | CommandError::Workspace(WorkspaceError::Refused(_)) => exit::USAGE,
            CommandError::Io { .. } | CommandError::Workspace(WorkspaceError::Io { .. }) => exit::INTERNAL,
        }
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> CommandError {
        let context = context.into();
        move |source| CommandError::Io { context, source }
    }
}

/// Settings every command shares, resolved once from the raw flags.
pub struct Context {
    /// Color the human report.
    pub color: bool,
    /// Show a progress bar (stderr is a terminal).
    pub progress: bool,
    /// The catalogue.
    pub catalog: Catalog,
    /// The learner workspace around the current directory, if any.
    pub workspace: Option<Workspace>,
}

impl Context {
    fn resolve(cli: &Cli, human_on_stderr: bool) -> Result<Context, CommandError> {
        let terminal = if human_on_stderr { std::io::stderr().is_terminal() } else { std::io::stdout().is_terminal() };
        let color = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        };
        colored::control::set_override(color);
        let (root, origin) = Catalog::locate(cli.catalog.as_deref())?;
        Ok(Context {
            color,
            progress: std::io::stderr().is_terminal(),
            catalog: Catalog::load(&root, origin)?,
            workspace: Workspace::current(),
        })
    }

    /// Where the learner's crate for `spec` lives by default: in the workspace around the current
    /// directory, or else in the current directory (relative, as the learner would type it).
    pub fn crate_dir(&self, spec: &ChallengeSpec) -> PathBuf {
        match &self.workspace {
            Some(w) if std::env::current_dir().is_ok_and(|cwd| cwd != w.root()) => w.root().join(spec.dir_name()),
            Some(_) | None => PathBuf::from(spec.dir_name()),
        }
    }

    /// Where the human report goes: stderr when a machine format owns stdout.
    fn human_out(format: Format) -> Box<dyn std::io::Write> {
        if format.is_machine() {
            Box::new(std::io::stderr())
        } else {
            Box::new(std::io::stdout())
        }
    }
}

/// Runs a parsed command line; returns the exit code.
pub fn dispatch(cli: Cli) -> Result<u8, CommandError> {
    // Completions need no catalogue: they must work anywhere, even before one exists.
    if let Command::Completions { shell } = cli.command {
        return completions::run(shell);
    }
    // `dev` reads the catalogue itself: `dev check` reports every broken spec, where loading the
    // catalogue stops at the first.
    match &cli.command {
        Command::Dev(DevCommand::Check) => return dev::check(cli.catalog.as_deref()),
        Command::Dev(DevCommand::New { slug, system }) => return dev::new(cli.catalog.as_deref(), slug, system),
        _ => {}
    }
    let human_on_stderr = matches!(
        &cli.command,
        Command::Test { format, .. } | Command::Grade { format, .. } if format.is_machine()
    );
    let cx = Context::resolve(&cli, human_on_stderr)?;
    match cli.command {
        Command::List => list::run(&cx),
        Command::Show { challenge } => show::run(&cx, &challenge),
        Command::Init { dir, update_harness } => init::run(&cx, dir, update_harness),
        Command::Start { challenge, dir, editor } => start::run(&cx, &challenge, dir, editor),
        Command::Test { challenge, solution, format, sandbox, seed } => {
            test::run(&cx, &challenge, solution, &test::Options { format, sandbox, seed })
        }
        Command::Hint { challenge, all } => hint::run(&cx, &challenge, all),
        Command::Watch { challenge, solution } => watch::run(&cx, &challenge, solution),
        Command::Solution { challenge, force } => solution::run(&cx, &challenge, force),
        Command::Progress => progress::run(&cx),
        Command::Reset { challenge, dir, yes } => progress::reset(&cx, &challenge, dir, yes),
        Command::Dev(DevCommand::Repeat { paths, challenge, runs, untimed }) => {
            dev::repeat(&cx, &paths, challenge.as_deref(), runs, untimed)
        }
        Command::Completions { .. } | Command::Dev(_) => unreachable!("answered before the catalogue is loaded"),
        Command::Grades { gradebook, command } => grades::run(&cx, &gradebook, command),
        Command::Grade { paths, challenge, student, gradebook, regrade, jobs, shard, format } => {
            let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
            let options = grade::Options { challenge, student, gradebook, regrade, jobs, shard, format };
            grade::run(&cx, &paths, &options)
        }
    }
}

/// Writes `text` to stdout; the command's exit code is success.
fn print(text: &str) -> Result<u8, CommandError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(CommandError::io("failed to write to stdout"))?;
    Ok(crate::exit::PASSED)
}

/// What the workers run: `challenge-worker` beside this executable, or this executable.
fn worker_exe() -> Result<WorkerExe, CommandError> {
    WorkerExe::locate().map_err(CommandError::io("failed to find the challenge executable"))
}

/// A single-threaded runtime: workers are child processes, so one thread waits on all of them,
/// and `PR_SET_PDEATHSIG` stays tied to a thread that lives as long as the run.
fn runtime() -> Result<tokio::runtime::Runtime, CommandError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CommandError::io("failed to start the async runtime"))
}
