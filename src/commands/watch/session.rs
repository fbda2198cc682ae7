//! The watch loop: one run at a time through the same pipeline as `challenge test`, restarted
//! when files settle after a save (a newer save cancels a run that is out of date) or on `r`,
//! with the keys answered even while a run is under way.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::future::Future;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::OptionFuture;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;

use super::files::FileWatcher;
use super::live::LiveReporter;
use super::panels;
use super::tty::{self, RawTerminal};
use super::view::{Panel, View};
use crate::cargo_build::Cache;
use crate::commands::{worker_exe, runtime, CommandError, Context};
use crate::progress::{Progress, Status};
use crate::reporter::Reporter;
use crate::results::SubmissionReport;
use crate::runner::{Mode, Runner};
use crate::submissions::Submission;

/// Quiet time after a change before the rerun: an editor's save is often several writes (a temp
/// file, a rename, a chmod), and one save should make one run.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// What reaches the loop from the keyboard, stdin and the file watcher.
#[derive(Debug)]
pub(super) enum Input {
    /// A command key.
    Key(Key),
    /// Files changed (relative to the crate; empty when the OS could not say which).
    Changed(Vec<PathBuf>),
    /// The file watcher reported a problem.
    WatchError(String),
    /// Keys can no longer be read.
    KeysFailed(String),
    /// The window changed size.
    Redraw,
}

/// The commands, one key each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Key {
    /// Reveal the next hint.
    Hint,
    /// Move to the next challenge, once this one has passed.
    Next,
    /// List the challenges.
    List,
    /// Run again now.
    Rerun,
    /// Stop watching.
    Quit,
}

impl Key {
    /// The command a typed letter stands for.
    pub(super) fn from_char(c: char) -> Option<Key> {
        match c.to_ascii_lowercase() {
            'h' => Some(Key::Hint),
            'n' => Some(Key::Next),
            'l' => Some(Key::List),
            'r' => Some(Key::Rerun),
            'q' => Some(Key::Quit),
            _ => None,
        }
    }
}

/// A run under way: the crate's report and its rendering.
type RunFuture<'a> = Pin<Box<dyn Future<Output = std::io::Result<(SubmissionReport, String)>> + 'a>>;

/// Changes seen and not yet run.
struct Pending {
    deadline: Instant,
    paths: BTreeSet<PathBuf>,
}

/// `challenge watch N [--solution PATH]`.
pub(in crate::commands) fn run(cx: &Context, query: &str, solution: Option<PathBuf>) -> Result<u8, CommandError> {
    let spec = cx.catalog.find(query)?;
    let index = cx.catalog.challenges.iter().position(|c| c.id == spec.id).expect("found above");
    let path = solution.unwrap_or_else(|| cx.crate_dir(spec));
    if !path.is_dir() {
        return Err(CommandError::Usage(format!(
            "no solution at {}: run `challenge start {}` first, or pass --solution PATH",
            path.display(),
            spec.id
        )));
    }
    let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let exe = worker_exe()?;
    let runtime = runtime()?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let files = FileWatcher::start(&path, &tx)?;
    // Restores the terminal when dropped, after the session, whichever way this function returns.
    let _raw = if tty {
        Some(RawTerminal::enter().map_err(CommandError::io("failed to put the terminal in raw mode"))?)
    } else {
        None
    };
    if tty {
        tty::read_keys(&tx);
        tty::catch_termination();
    } else {
        tty::read_lines(&tx);
    }
    let view = Rc::new(RefCell::new(View::new(tty, cx.color)));
    let polling = files.polling.clone();
    view.borrow_mut().watching(&path.display().to_string(), spec.id, polling.as_deref()).map_err(write_error)?;
    let mut session = Session { cx, exe, index, path, files, view, tx };
    runtime.block_on(session.watch(rx))
}

fn write_error(e: std::io::Error) -> CommandError {
    CommandError::Io { context: "failed to write to the terminal".to_owned(), source: e }
}

struct Session<'a> {
    cx: &'a Context,
    exe: crate::runner::WorkerExe,
    /// The challenge watched, as an index into the catalogue.
    index: usize,
    /// Its crate.
    path: PathBuf,
    files: FileWatcher,
    view: Rc<RefCell<View>>,
    /// For a new file watcher after `n`.
    tx: UnboundedSender<Input>,
}

impl<'a> Session<'a> {
    async fn watch(&mut self, mut rx: UnboundedReceiver<Input>) -> Result<u8, CommandError> {
        let mut run: Option<RunFuture<'a>> = Some(self.start("first run".to_owned())?);
        let mut pending: Option<Pending> = None;
        // Moves the elapsed seconds on screen along, and notices termination signals.
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = pending.as_ref().map_or_else(Instant::now, |p| p.deadline);
            tokio::select! {
                Some(outcome) = OptionFuture::from(run.as_mut()), if run.is_some() => {
                    run = None;
                    self.finished(outcome)?;
                }
                () = tokio::time::sleep_until(deadline), if pending.is_some() => {
                    let paths = pending.take().map(|p| p.paths).unwrap_or_default();
                    // Replacing the future cancels a run of files that have changed since.
                    run = Some(self.start(describe(&self.path, &paths))?);
                }
                input = rx.recv() => {
                    // The session holds a sender, so the channel never closes while it runs.
                    let Some(input) = input else { continue };
                    match input {
                        Input::Changed(paths) => {
                            self.files.adopt(&paths);
                            let p = pending.get_or_insert_with(|| Pending { deadline, paths: BTreeSet::new() });
                            p.deadline = Instant::now() + DEBOUNCE;
                            p.paths.extend(paths);
                        }
                        Input::Key(Key::Quit) => {
                            self.view.borrow_mut().stopped().map_err(write_error)?;
                            return Ok(crate::exit::PASSED);
                        }
                        Input::Key(Key::Rerun) => {
                            pending = None;
                            run = Some(self.start("rerun (r)".to_owned())?);
                        }
                        Input::Key(Key::Hint) => {
                            let spec = &self.cx.catalog.challenges[self.index];
                            let text = panels::next_hint(spec).unwrap_or_else(|e| format!("{e}"));
                            self.view.borrow_mut().show(Panel::Hint, &text).map_err(write_error)?;
                        }
                        Input::Key(Key::List) => {
                            let text = panels::list(self.cx, self.index).unwrap_or_else(|e| format!("{e}"));
                            self.view.borrow_mut().show(Panel::List, &text).map_err(write_error)?;
                        }
                        Input::Key(Key::Next) => match self.next()? {
                            Some(message) => self.view.borrow_mut().show(Panel::Message, &message).map_err(write_error)?,
                            None => {
                                pending = None;
                                let spec = &self.cx.catalog.challenges[self.index];
                                run = Some(self.start(format!("challenge {}", spec.id))?);
                            }
                        },
                        Input::WatchError(e) => {
                            let text = format!("The file watcher reported a problem: {e}. Press r to run again by hand.");
                            self.view.borrow_mut().show(Panel::Message, &text).map_err(write_error)?;
                        }
                        Input::KeysFailed(e) => {
                            return Err(CommandError::Io { context: "failed to read keys".to_owned(), source: std::io::Error::other(e) });
                        }
                        Input::Redraw => self.view.borrow_mut().redraw().map_err(write_error)?,
                    }
                }
                _ = tick.tick() => {
                    if let Some(signal) = tty::termination() {
                        self.view.borrow_mut().stopped().map_err(write_error)?;
                        // The shell's convention for a process ended by a signal.
                        return Ok(128u8.saturating_add(u8::try_from(signal).unwrap_or(0)));
                    }
                    self.view.borrow_mut().tick().map_err(write_error)?;
                }
            }
        }
    }

    /// Starts a run of the watched crate; dropping the future cancels it (its workers are killed).
    fn start(&self, trigger: String) -> Result<RunFuture<'a>, CommandError> {
        self.view.borrow_mut().run_started(trigger).map_err(write_error)?;
        let cx: &'a Context = self.cx;
        let runner = Runner {
            catalog: &cx.catalog,
            cache: Cache::locate(),
            exe: self.exe.clone(),
            mode: Mode::Test,
            color: cx.color,
            jobs: 1,
            hidden: Vec::new(),
        };
        let submission =
            Submission { student: "you".to_owned(), path: self.path.clone(), challenge: self.index, missing: None };
        let mut reporter = LiveReporter::new(cx.color, Rc::clone(&self.view));
        Ok(Box::pin(async move {
            let reports = runner.run(std::slice::from_ref(&submission), &mut reporter).await?;
            reporter.finish(&reports)?;
            let report = reports.into_iter().next().expect("one submission gives one report");
            Ok((report, reporter.text()))
        }))
    }

    /// Records a finished run in the learner's progress, as `challenge test` does, and shows it.
    fn finished(&mut self, outcome: std::io::Result<(SubmissionReport, String)>) -> Result<(), CommandError> {
        let (report, text) = match outcome {
            Ok(done) => done,
            Err(e) => {
                let message = format!("failed to run the scenarios: {e}; save again or press r to retry");
                return self.view.borrow_mut().failed(message).map_err(write_error);
            }
        };
        let spec = &self.cx.catalog.challenges[self.index];
        // Progress is a convenience: failing to save it must not stop the watch.
        let saved = Progress::open().and_then(|p| p.record_report(&spec.slug, &report));
        let has_next = self.index + 1 < self.cx.catalog.challenges.len();
        let mut view = self.view.borrow_mut();
        view.finished(&report, text, has_next).map_err(write_error)?;
        if let Err(e) = saved {
            view.show(Panel::Message, &format!("warning: {e}")).map_err(write_error)?;
        } else if view.panel() == Some(Panel::List) {
            // The list shows this run's status: keep it current.
            let text = panels::list(self.cx, self.index).unwrap_or_else(|e| format!("{e}"));
            view.show(Panel::List, &text).map_err(write_error)?;
        }
        Ok(())
    }

    /// Moves to the next challenge when this one has passed and the next has a crate; otherwise
    /// says why not. Never creates anything: starting a challenge is the learner's choice.
    fn next(&mut self) -> Result<Option<String>, CommandError> {
        let catalog = &self.cx.catalog;
        let spec = &catalog.challenges[self.index];
        match Progress::open().and_then(|p| p.status(&spec.slug)) {
            Ok(Status::Passed { .. }) => {}
            Ok(Status::NotStarted | Status::Started | Status::Attempted { .. }) => {
                return Ok(Some(format!(
                    "Challenge {} is not passed yet: n moves on once every visible scenario has passed.",
                    spec.id
                )));
            }
            Err(e) => return Ok(Some(e.to_string())),
        }
        let Some(next) = catalog.challenges.get(self.index + 1) else {
            return Ok(Some(format!("Challenge {} is the last one: there is no next challenge yet.", spec.id)));
        };
        let dir = self.cx.crate_dir(next);
        if !dir.is_dir() {
            return Ok(Some(format!(
                "Next: challenge {} · {}. It has no crate yet: run `challenge start {}` (in another terminal), then press n again.",
                next.id, next.title, next.id
            )));
        }
        let files = FileWatcher::start(&dir, &self.tx)?;
        let polling = files.polling.clone();
        // The old watcher stops when dropped here; events it already sent name files of the old
        // crate and only cause one extra run.
        self.files = files;
        self.index += 1;
        self.view
            .borrow_mut()
            .watching(&dir.display().to_string(), next.id, polling.as_deref())
            .map_err(write_error)?;
        self.path = dir;
        Ok(None)
    }
}

/// What started a run, for the state line: "src/lib.rs changed". Files already gone again (an
/// editor's or sed's temporary copy) are not worth naming when others remain. `root` is the crate.
fn describe(root: &Path, paths: &BTreeSet<PathBuf>) -> String {
    let present: Vec<&PathBuf> = paths.iter().filter(|p| root.join(p).exists()).collect();
    let shown: Vec<&PathBuf> = if present.is_empty() { paths.iter().collect() } else { present };
    let mut names = shown.iter().map(|p| p.display().to_string());
    match (names.next(), shown.len()) {
        (None, _) => "files changed".to_owned(),
        (Some(first), 1) => format!("{first} changed"),
        (Some(first), n) => format!("{first} and {} more changed", n - 1),
    }
}
