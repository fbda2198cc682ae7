//! Where learners' code runs: inside bubblewrap when it is installed and this kernel lets it
//! make namespaces, else under rlimits and process groups alone. Builds (their `build.rs` and
//! proc macros are learner code too) and workers go through the same [`Isolation::command`].
//!
//! Inside the sandbox: no network (a fresh network namespace), `/` read-only, a private `/tmp`
//! and `/dev/shm`, other submissions' directories (those graded in the same run, and the crates
//! beside each one: see [`crate::submissions::neighbours`]) hidden under empty tmpfs mounts,
//! only the directories a step must write (a build's crate and target dirs) writable, a PID
//! namespace that takes every process down with the worker, `--die-with-parent` and
//! `--new-session` (so the learner's code cannot reach the grader's terminal). The rlimits apply
//! in both cases.
//!
//! Hidden as well: the build cache's other libraries, and the catalogue, since workers run
//! `challenge-worker`, which is linked without it (see [`WorkerExe`]). Where only `challenge`
//! itself is there to run, the isolation line says that the catalogue is readable.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::runner::worker_process::WorkerExe;

/// The isolation in force for this run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// bubblewrap, at this path, probed and working.
    Bubblewrap {
        /// The `bwrap` executable.
        bwrap: PathBuf,
    },
    /// Rlimits and process groups only: the network and the file system are not confined.
    Rlimits {
        /// Why there is no sandbox, with what to do about it.
        reason: String,
    },
}

static CURRENT: OnceLock<Isolation> = OnceLock::new();

/// Turns the sandbox on for this process when `wanted` and available (decided once; later
/// calls return the first decision).
pub fn init(wanted: bool) -> &'static Isolation {
    CURRENT.get_or_init(|| Isolation::detect(wanted))
}

/// The isolation this process decided on, or no sandbox if it never asked for one.
pub fn current() -> &'static Isolation {
    CURRENT.get_or_init(|| Isolation::Rlimits { reason: "no sandbox was asked for".to_owned() })
}

/// The isolation line for reports and the gradebook: the sandbox in force, then what the
/// workers run.
pub fn describe() -> String {
    let worker = match WorkerExe::locate() {
        Ok(worker) => worker.summary(),
        Err(e) => format!("the worker executable could not be found: {e}"),
    };
    format!("{}; {worker}", current().summary())
}

/// The flags every sandboxed command gets, before its own binds.
const BASE: &[&str] = &[
    "--ro-bind", "/", "/",
    "--dev", "/dev",
    "--proc", "/proc",
    "--tmpfs", "/tmp",
    "--tmpfs", "/dev/shm",
    "--unshare-net",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--die-with-parent",
    "--new-session",
];

/// `/tmp/X` for a path under `/tmp/X`: what to bind so that the path is there in the private
/// `/tmp` too.
fn tmp_root(path: &Path) -> Option<PathBuf> {
    let rest = path.strip_prefix("/tmp").ok()?;
    let first = rest.components().next()?;
    Some(Path::new("/tmp").join(first))
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

impl Isolation {
    /// bubblewrap if `wanted`, not switched off (`CHALLENGE_SANDBOX=off`), installed, and able to
    /// run a command here; otherwise why not.
    pub fn detect(wanted: bool) -> Isolation {
        let off = |reason: &str| Isolation::Rlimits { reason: reason.to_owned() };
        if !wanted {
            return off("not asked for (pass --sandbox)");
        }
        if std::env::var("CHALLENGE_SANDBOX").is_ok_and(|v| v == "off") {
            return off("switched off by CHALLENGE_SANDBOX=off");
        }
        let Some(bwrap) = std::env::var_os("CHALLENGE_BWRAP").map(PathBuf::from).or_else(|| on_path("bwrap")) else {
            return off("bubblewrap is not installed (Debian and Ubuntu: apt-get install bubblewrap)");
        };
        let probe = std::process::Command::new(&bwrap).args(BASE).arg("--").arg("true").output();
        match probe {
            Ok(out) if out.status.success() => Isolation::Bubblewrap { bwrap },
            Ok(out) => {
                let said = String::from_utf8_lossy(&out.stderr);
                Isolation::Rlimits {
                    reason: format!(
                        "bubblewrap could not make a sandbox here ({}): user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone, or a container that forbids them)",
                        said.lines().next().unwrap_or("no message").trim()
                    ),
                }
            }
            Err(e) => Isolation::Rlimits { reason: format!("bubblewrap at {} would not start: {e}", bwrap.display()) },
        }
    }

    /// Whether the network and the file system are confined.
    pub fn is_confined(&self) -> bool {
        matches!(self, Isolation::Bubblewrap { .. })
    }

    /// One line for reports and the gradebook's `isolation` column.
    pub fn summary(&self) -> String {
        match self {
            Isolation::Bubblewrap { .. } => "bubblewrap sandbox (no network, read-only /, private /tmp, other submissions hidden, PID namespace) + rlimits".to_owned(),
            Isolation::Rlimits { reason } => {
                format!("unconfined: rlimits and process groups only, no network or file-system isolation ({reason})")
            }
        }
    }

    /// A command that runs `program` under this isolation, able to write only `writable` (beyond
    /// its private `/tmp`), and unable to see `hidden` (a directory becomes an empty tmpfs, a
    /// file reads as empty). Everything else outside `/tmp` is readable; what `needs` names (the
    /// program, a crate, a library to load) is made readable under `/tmp` by binding, read-only,
    /// the top directory under `/tmp` that holds it, and inside a hidden directory by binding it
    /// alone. The program, given by an absolute path, is needed too.
    pub fn command(&self, program: impl AsRef<OsStr>, writable: &[&Path], needs: &[&Path], hidden: &[&Path]) -> tokio::process::Command {
        let Isolation::Bubblewrap { bwrap } = self else { return tokio::process::Command::new(program) };
        let mut command = tokio::process::Command::new(bwrap);
        command.args(BASE);
        // bwrap resolves paths inside the new root: give it absolute ones.
        let absolute = |d: &Path| d.canonicalize().unwrap_or_else(|_| d.to_owned());
        let program_path = Path::new(program.as_ref());
        let mut roots: Vec<PathBuf> = needs
            .iter()
            .chain(writable)
            .copied()
            .chain(program_path.is_absolute().then_some(program_path))
            .filter_map(|p| tmp_root(&absolute(p)))
            .collect();
        roots.sort();
        roots.dedup();
        for root in roots {
            command.arg("--ro-bind").arg(&root).arg(&root);
        }
        let hidden: Vec<PathBuf> = hidden.iter().map(|h| absolute(h)).collect();
        for path in &hidden {
            if path.is_dir() {
                command.arg("--tmpfs").arg(path);
            } else if path.is_file() {
                command.arg("--ro-bind").arg("/dev/null").arg(path);
            }
        }
        let program_path = program_path.is_absolute().then_some(program_path);
        let inside_hidden = |n: &PathBuf| hidden.iter().any(|h| n.starts_with(h) && n != h);
        for need in needs.iter().copied().chain(program_path).map(absolute).filter(inside_hidden) {
            command.arg("--ro-bind").arg(&need).arg(&need);
        }
        for dir in writable {
            let dir = absolute(dir);
            command.arg("--bind").arg(&dir).arg(&dir);
        }
        command.arg("--").arg(program);
        command
    }

    /// How a process under this isolation ended, as if it had run bare: bubblewrap reports a
    /// child killed by signal N as exit code 128 + N.
    pub fn unwrap_status(&self, status: std::process::ExitStatus) -> std::process::ExitStatus {
        use std::os::unix::process::ExitStatusExt;
        match (self, status.code()) {
            (Isolation::Bubblewrap { .. }, Some(code)) if (129..129 + 64).contains(&code) => {
                std::process::ExitStatus::from_raw(code - 128)
            }
            _ => status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_commands_run_the_program_itself() {
        let none = Isolation::Rlimits { reason: "test".into() };
        let command = none.command("cargo", &[], &[], &[]);
        assert_eq!(command.as_std().get_program(), "cargo");
        assert!(none.summary().starts_with("unconfined"));
    }

    #[test]
    fn sandboxed_commands_hide_before_they_bind() {
        // A hidden directory of its own, not the temp dir: where TMPDIR is /tmp the need below
        // would lie inside it, and be bound by itself as well.
        let hidden = tempfile::tempdir().unwrap();
        let jail = Isolation::Bubblewrap { bwrap: "/usr/bin/bwrap".into() };
        let command = jail.command("cargo", &[Path::new("/work/own")], &[Path::new("/tmp/class/alice/lib.so")], &[hidden.path()]);
        let args: Vec<&OsStr> = command.as_std().get_args().collect();
        let tmpfs = args.iter().rposition(|a| *a == "--tmpfs").unwrap();
        let bind = args.iter().position(|a| *a == "--bind").unwrap();
        assert!(tmpfs < bind, "a writable dir inside a hidden one must be bound after the tmpfs: {args:?}");
        assert_eq!(args[args.len() - 2..], [OsStr::new("--"), OsStr::new("cargo")]);
        assert!(args.contains(&OsStr::new("--unshare-net")));
        let ro = args.iter().rposition(|a| *a == "--ro-bind").unwrap();
        assert_eq!(args[ro + 1], "/tmp/class", "what is needed under /tmp is bound from its top directory");
        assert!(ro < tmpfs, "and before the hidden dirs' tmpfs, which may lie inside it");
    }

    #[test]
    fn what_is_needed_inside_a_hidden_directory_is_bound_alone_after_it() {
        // The learner's library, and the program itself (the worker executable in a hidden
        // cargo profile dir).
        let hidden = tempfile::tempdir().unwrap();
        let (need, program) = (hidden.path().join("own.so"), hidden.path().join("challenge-worker"));
        std::fs::write(&need, b"").unwrap();
        std::fs::write(&program, b"").unwrap();
        let jail = Isolation::Bubblewrap { bwrap: "/usr/bin/bwrap".into() };
        let command = jail.command(&program, &[], &[need.as_path()], &[hidden.path()]);
        let args: Vec<&OsStr> = command.as_std().get_args().collect();
        let hidden = hidden.path().canonicalize().unwrap();
        let tmpfs = args.windows(2).position(|w| w[0] == "--tmpfs" && w[1] == hidden.as_os_str()).unwrap_or_else(|| panic!("{args:?}"));
        for path in [need, program] {
            let path = path.canonicalize().unwrap();
            let bound = args.windows(2).position(|w| w[0] == "--ro-bind" && w[1] == path.as_os_str()).unwrap_or_else(|| panic!("{path:?}: {args:?}"));
            assert!(bound > tmpfs, "{path:?} is bound by itself, over the tmpfs: {args:?}");
        }
    }

    #[test]
    fn a_signal_behind_bwrap_reads_as_the_signal() {
        use std::os::unix::process::ExitStatusExt;
        let jail = Isolation::Bubblewrap { bwrap: "/usr/bin/bwrap".into() };
        let segv = std::process::ExitStatus::from_raw((128 + 11) << 8);
        assert_eq!(jail.unwrap_status(segv).signal(), Some(11));
        let plain = std::process::ExitStatus::from_raw(4 << 8);
        assert_eq!(jail.unwrap_status(plain).code(), Some(4));
    }
}
