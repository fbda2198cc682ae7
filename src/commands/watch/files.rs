//! Which saves trigger a rerun: OS file events on the solution crate (polling where they cannot be
//! had), leaving out build output, hidden files and editors' scratch files.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use notify::{Event, EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc::UnboundedSender;

use super::session::Input;
use crate::commands::CommandError;

/// How often the fallback looks at every file's modification time.
pub(super) const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Watches one crate; events arrive on the session's channel as [`Input::Changed`].
pub(super) struct FileWatcher {
    root: PathBuf,
    watcher: Box<dyn Watcher>,
    /// Why OS file events are not used, when the watcher polls.
    pub(super) polling: Option<String>,
}

impl FileWatcher {
    /// Starts watching the crate at `root`, with OS events when they work and polling otherwise.
    pub(super) fn start(root: &Path, tx: &UnboundedSender<Input>) -> Result<FileWatcher, CommandError> {
        // Events name absolute paths; a canonical root lets them be shown relative to the crate.
        let root = root.canonicalize().map_err(CommandError::io(format!("failed to watch {}", root.display())))?;
        let forced = std::env::var_os("CHALLENGE_WATCH_POLL").is_some_and(|v| !v.is_empty() && v != "0");
        let native = if forced {
            Err("CHALLENGE_WATCH_POLL is set".to_owned())
        } else {
            notify::recommended_watcher(handler(&root, tx))
                .map_err(|e| e.to_string())
                .and_then(|mut w| watch_tree(&mut w, &root).map(|()| w).map_err(|e| e.to_string()))
        };
        let (watcher, polling): (Box<dyn Watcher>, _) = match native {
            Ok(watcher) => (Box::new(watcher), None),
            Err(reason) => {
                let config = notify::Config::default().with_poll_interval(POLL_INTERVAL);
                let mut watcher = notify::PollWatcher::new(handler(&root, tx), config).map_err(|e| {
                    CommandError::Io { context: "failed to watch for changes".to_owned(), source: to_io(e) }
                })?;
                watch_tree(&mut watcher, &root).map_err(|e| CommandError::Io {
                    context: format!("failed to watch {}", root.display()),
                    source: to_io(e),
                })?;
                (Box::new(watcher), Some(reason))
            }
        };
        Ok(FileWatcher { root, watcher, polling })
    }

    /// Watches directories created at the crate's top level since the start (`tests/`, `benches/`),
    /// which the per-directory watches below cannot have covered. `changed` is relative to the root.
    pub(super) fn adopt(&mut self, changed: &[PathBuf]) {
        for rel in changed {
            let path = self.root.join(rel);
            if rel.components().count() == 1 && path.is_dir() {
                // A directory that vanished again in between is not worth a message.
                let _ = self.watcher.watch(&path, RecursiveMode::Recursive);
            }
        }
    }
}

/// Watches the crate's own directory without descending, and each top-level directory except
/// build output recursively: a learner's `target/` may hold tens of thousands of files, which
/// would exhaust inotify watches or make every poll slow.
fn watch_tree(watcher: &mut dyn Watcher, root: &Path) -> notify::Result<()> {
    watcher.watch(root, RecursiveMode::NonRecursive)?;
    for entry in std::fs::read_dir(root).map_err(notify::Error::io)? {
        let entry = entry.map_err(notify::Error::io)?;
        let rel = PathBuf::from(entry.file_name());
        if entry.file_type().map_err(notify::Error::io)?.is_dir() && !ignored(&rel) {
            watcher.watch(&entry.path(), RecursiveMode::Recursive)?;
        }
    }
    Ok(())
}

fn handler(root: &Path, tx: &UnboundedSender<Input>) -> impl FnMut(notify::Result<Event>) + Send + 'static {
    let (root, tx) = (root.to_owned(), tx.clone());
    move |event| {
        let input = match event {
            Ok(event) => match relevant(&root, &event) {
                Some(paths) => Input::Changed(paths),
                None => return,
            },
            Err(e) => Input::WatchError(e.to_string()),
        };
        // The session has ended when nobody receives; the watcher is about to be dropped too.
        let _ = tx.send(input);
    }
}

/// The changed paths that matter, relative to `root`; `None` when nothing does.
fn relevant(root: &Path, event: &Event) -> Option<Vec<PathBuf>> {
    if event.need_rescan() {
        // The OS dropped events: something changed, but we cannot know what.
        return Some(Vec::new());
    }
    match event.kind {
        // Reads (cargo reading the sources while it builds) change nothing.
        EventKind::Access(_) | EventKind::Other => return None,
        EventKind::Any | EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => {}
    }
    let paths: Vec<PathBuf> = event
        .paths
        .iter()
        .map(|p| p.strip_prefix(root).unwrap_or(p).to_owned())
        .filter(|rel| !rel.as_os_str().is_empty() && !ignored(rel))
        .collect();
    (!paths.is_empty()).then_some(paths)
}

/// Whether a change to `rel` (relative to the crate) cannot change what gets built or run.
fn ignored(rel: &Path) -> bool {
    let names: Vec<&str> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => name.to_str(),
            Component::Prefix(_) | Component::RootDir | Component::CurDir | Component::ParentDir => None,
        })
        .collect();
    let Some(file) = names.last() else { return true };
    // Build output; a learner may also have built the crate with plain cargo.
    names.first() == Some(&"target")
        // cargo rewrites the lock file as it builds: reacting to it would rerun every run twice.
        || rel == Path::new("Cargo.lock")
        // Hidden files and directories: .git, editor swap files (.lib.rs.swp), .challenge.
        || names.iter().any(|n| n.starts_with('.'))
        // Editors' backups and scratch files: lib.rs~, #lib.rs#, vim's write test "4913",
        // JetBrains' safe-write copies.
        || file.ends_with('~')
        || (file.starts_with('#') && file.ends_with('#'))
        || *file == "4913"
        || file.contains("___jb_")
}

fn to_io(e: notify::Error) -> std::io::Error {
    match e.kind {
        notify::ErrorKind::Io(io) => io,
        notify::ErrorKind::Generic(_)
        | notify::ErrorKind::PathNotFound
        | notify::ErrorKind::WatchNotFound
        | notify::ErrorKind::InvalidConfig(_)
        | notify::ErrorKind::MaxFilesWatch => std::io::Error::other(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::ignored;

    #[test]
    fn sources_and_manifest_count_but_build_output_hidden_and_scratch_files_do_not() {
        for counts in ["src/lib.rs", "Cargo.toml", "src/window/fixed.rs", "tests/it.rs", "build.rs", "data.json"] {
            assert!(!ignored(Path::new(counts)), "{counts} should trigger a rerun");
        }
        for not in [
            "target/release/libx.so",
            "Cargo.lock",
            ".git/index",
            "src/.lib.rs.swp",
            "src/lib.rs~",
            "src/#lib.rs#",
            "src/4913",
            "src/lib.rs___jb_tmp___",
            ".challenge/progress.db",
        ] {
            assert!(ignored(Path::new(not)), "{not} should not trigger a rerun");
        }
    }
}
