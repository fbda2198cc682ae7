//! What the learner sees while watching, and how it reaches them: on a terminal, one screen
//! redrawn whole (the report, a panel under it, a state line and the key line at the bottom);
//! without one, a plain report per run and each panel as it is asked for.

use std::io::Write;
use std::time::Instant;

use colored::Colorize;
use crossterm::cursor::MoveTo;
use crossterm::terminal::{BeginSynchronizedUpdate, Clear, ClearType, EndSynchronizedUpdate};

use super::layout;
use crate::results::{BuildOutcome, SubmissionReport};

/// Where the current run stands.
enum Phase {
    /// No run has started yet.
    Starting,
    /// Building or running scenarios.
    Running {
        since: Instant,
        /// What started it: "src/lib.rs changed".
        trigger: String,
        /// What it is doing now.
        step: String,
    },
    /// The last run finished; `line` sums it up.
    Done { line: String, passed: bool },
    /// The last run could not be done at all.
    Failed(String),
}

/// What the panel under the report holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Panel {
    /// A hint: it stays until another key replaces it, since it helps with the next runs too.
    Hint,
    /// The list of challenges: it stays, like a hint.
    List,
    /// A message about one moment ("not passed yet"); the next run clears it.
    Message,
    /// A message about the whole session (changes are found by polling): it stays.
    Notice,
}

/// The watch screen's state.
pub(super) struct View {
    tty: bool,
    color: bool,
    /// The crate, as the learner named it.
    path: String,
    /// The challenge's number, for the commands the screen suggests.
    id: u32,
    /// Whether changes are found by polling.
    polling: bool,
    /// The report shown: the last complete one, or the first run's while it streams in.
    report: String,
    /// When the shown report's run finished; `None` while none has.
    shown_at: Option<String>,
    phase: Phase,
    /// A hint, the list or a message, under the report.
    panel: Option<(Panel, String)>,
    /// Whether the session has ended (the last frame says so).
    stopped: bool,
    /// The state line last drawn, so a tick redraws only when the seconds move.
    drawn_state: String,
}

impl View {
    /// A view that draws on the terminal in raw mode (`tty`) or prints plain text.
    pub(super) fn new(tty: bool, color: bool) -> View {
        View {
            tty,
            color,
            path: String::new(),
            id: 0,
            polling: false,
            report: String::new(),
            shown_at: None,
            phase: Phase::Starting,
            panel: None,
            stopped: false,
            drawn_state: String::new(),
        }
    }

    /// Starts over on the crate at `path` for challenge `id` (a new session, or `n`); `polling`
    /// says why file events are not used, when they are not.
    pub(super) fn watching(&mut self, path: &str, id: u32, polling: Option<&str>) -> std::io::Result<()> {
        self.path = path.to_owned();
        self.id = id;
        self.polling = polling.is_some();
        self.report.clear();
        self.shown_at = None;
        self.panel = None;
        if !self.tty {
            let how = if self.polling { " (polling)" } else { "" };
            self.print(&format!(
                "watching {path}{how} for changes to challenge {id}; commands (a letter, then Enter): h hint, n next, l list, r rerun, q quit\n"
            ))?;
        }
        match polling {
            Some(reason) => self.show(
                Panel::Notice,
                &format!(
                    "Looking for changes every {} ms instead of through file events ({reason}).",
                    super::files::POLL_INTERVAL.as_millis()
                ),
            ),
            None => Ok(()),
        }
    }

    /// A run has started.
    pub(super) fn run_started(&mut self, trigger: String) -> std::io::Result<()> {
        if matches!(self.panel, Some((Panel::Message, _))) {
            self.panel = None;
        }
        self.phase = Phase::Running { since: Instant::now(), trigger, step: "building".to_owned() };
        self.draw()
    }

    /// The run moved on to `step` (when given), and its report so far is `text`.
    pub(super) fn progressed(&mut self, step: Option<String>, text: &str) -> std::io::Result<()> {
        if let (Some(new), Phase::Running { step, .. }) = (step, &mut self.phase) {
            *step = new;
        }
        // A rerun keeps the last complete report on screen until its own is complete, so the
        // screen never shows half a report; only the first run streams in.
        if self.shown_at.is_none() {
            self.report = text.to_owned();
        }
        self.draw()
    }

    /// The run finished with `report`, rendered as `text`. `has_next` says whether another
    /// challenge follows this one.
    pub(super) fn finished(&mut self, report: &SubmissionReport, text: String, has_next: bool) -> std::io::Result<()> {
        let trigger = match &self.phase {
            Phase::Running { trigger, .. } => trigger.clone(),
            Phase::Starting | Phase::Done { .. } | Phase::Failed(_) => String::new(),
        };
        let at = clock();
        let failing = report.results.iter().filter(|r| !r.verdict.is_pass()).count();
        let total = report.results.len();
        let passed = failing == 0;
        let summary = match &report.build {
            BuildOutcome::Failed { .. } => "✗ the build failed".to_owned(),
            BuildOutcome::Built { .. } if passed => {
                let next = if has_next { " · n: next challenge" } else { "" };
                format!("✓ all {total} visible scenarios pass · {:.1}%{next}", report.score.percent)
            }
            BuildOutcome::Built { .. } => {
                format!("✗ {failing} of {total} scenarios failing · {:.1}%", report.score.percent)
            }
        };
        self.phase = Phase::Done { line: format!("{summary} · {at} · {trigger}"), passed };
        self.report = text;
        self.shown_at = Some(at.clone());
        if !self.tty {
            let rule = format!("── {at} · {trigger} ");
            let fill = 72usize.saturating_sub(rule.chars().count());
            let text = self.report.clone();
            self.print(&format!("{rule}{}\n{text}", "─".repeat(fill)))?;
        }
        self.draw()
    }

    /// The run could not be done.
    pub(super) fn failed(&mut self, message: String) -> std::io::Result<()> {
        if !self.tty {
            self.print(&format!("{message}\n"))?;
        }
        self.phase = Phase::Failed(message);
        self.draw()
    }

    /// Shows `text` under the report, in place of what was there.
    pub(super) fn show(&mut self, panel: Panel, text: &str) -> std::io::Result<()> {
        if !self.tty {
            // Printed once, never kept: plain output has no screen to keep it on.
            let end = if text.ends_with('\n') { "\n" } else { "\n\n" };
            return self.print(&format!("{text}{end}"));
        }
        self.panel = Some((panel, text.to_owned()));
        self.draw()
    }

    /// What the panel holds, if anything.
    pub(super) fn panel(&self) -> Option<Panel> {
        self.panel.as_ref().map(|(panel, _)| *panel)
    }

    /// Redraws when the state line's seconds moved.
    pub(super) fn tick(&mut self) -> std::io::Result<()> {
        if self.tty && matches!(self.phase, Phase::Running { .. }) && self.state_line() != self.drawn_state {
            return self.draw();
        }
        Ok(())
    }

    /// The last frame: the key line becomes a note that watching stopped.
    pub(super) fn stopped(&mut self) -> std::io::Result<()> {
        self.stopped = true;
        self.draw()
    }

    fn state_line(&self) -> String {
        match &self.phase {
            Phase::Running { since, trigger, step } => {
                let showing = match &self.shown_at {
                    Some(at) => format!(" · below: the run of {at}"),
                    None => String::new(),
                };
                format!("⟳ {step} · {}s · {trigger}{showing}", since.elapsed().as_secs())
            }
            Phase::Starting => "⟳ starting".to_owned(),
            Phase::Done { line, .. } => line.clone(),
            Phase::Failed(message) => format!("✗ {message}"),
        }
    }

    fn key_line(&self) -> String {
        if self.stopped {
            return format!("stopped watching {}", self.path);
        }
        let how = if self.polling { " (polling)" } else { "" };
        format!("watching {}{how} · h hint · n next · l list · r rerun · q quit", self.path)
    }

    /// Draws the screen again, as after the window changed size.
    pub(super) fn redraw(&mut self) -> std::io::Result<()> {
        self.draw()
    }

    /// Draws the whole screen at once (written in one go, inside a synchronized update where the
    /// terminal knows one), so it never flickers half-drawn.
    fn draw(&mut self) -> std::io::Result<()> {
        if !self.tty {
            return Ok(());
        }
        let (cols, rows) = crossterm::terminal::size().map_or((80, 24), |(c, r)| (usize::from(c), usize::from(r)));
        let (cols, rows) = (cols.max(20), rows.max(3));
        // The key line already says how to get a hint.
        let report: String = self
            .report
            .lines()
            .filter(|l| !layout::strip(l).starts_with("  next: "))
            .map(|l| format!("{l}\n"))
            .collect();
        let cut = format!("  … (cut to fit the window: `challenge test {}` shows it all)", self.id);
        let panel = self.panel.as_ref().map_or("", |(_, text)| text.as_str());
        let body = layout::body(&report, panel, cols, rows - 2, &cut);
        let state = self.state_line();
        let state_shown = layout::clip(&state, cols - 1);
        let state_shown = match &self.phase {
            _ if !self.color => state_shown,
            Phase::Starting | Phase::Running { .. } => state_shown.yellow().to_string(),
            Phase::Done { passed: true, .. } => state_shown.green().bold().to_string(),
            Phase::Done { passed: false, .. } | Phase::Failed(_) => state_shown.red().bold().to_string(),
        };
        let keys = layout::clip(&self.key_line(), cols - 1);
        let keys = if self.color { keys.reversed().to_string() } else { keys };

        // Each line overwrites the last frame's in place and clears what it left over, instead of
        // clearing the screen first: some terminals (VTE's) push a cleared screen into their
        // scrollback, which every redraw would fill.
        let mut frame: Vec<u8> = Vec::new();
        crossterm::queue!(frame, BeginSynchronizedUpdate, MoveTo(0, 0))?;
        for (i, line) in body.iter().enumerate() {
            if i > 0 {
                // Raw mode turns off the terminal's newline translation.
                frame.extend_from_slice(b"\r\n");
            }
            frame.extend_from_slice(line.as_bytes());
            // A line that ends exactly at the margin has nothing left over, and clearing there
            // would erase its last character.
            let width = layout::width(line);
            if width == 0 || !width.is_multiple_of(cols) {
                crossterm::queue!(frame, Clear(ClearType::UntilNewLine))?;
            }
        }
        if !body.is_empty() {
            frame.extend_from_slice(b"\r\n");
        }
        crossterm::queue!(frame, Clear(ClearType::FromCursorDown))?;
        let last = u16::try_from(rows).unwrap_or(u16::MAX);
        crossterm::queue!(frame, MoveTo(0, last - 2))?;
        frame.extend_from_slice(state_shown.as_bytes());
        crossterm::queue!(frame, MoveTo(0, last - 1))?;
        frame.extend_from_slice(keys.as_bytes());
        crossterm::queue!(frame, EndSynchronizedUpdate)?;
        let mut out = std::io::stdout().lock();
        out.write_all(&frame)?;
        out.flush()?;
        self.drawn_state = state;
        Ok(())
    }

    fn print(&self, text: &str) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }
}

/// The local time of day, `HH:MM:SS`: when a run finished, so a learner can tell a fresh screen
/// from a stale one.
fn clock() -> String {
    // SAFETY: `time` with a null pointer only returns; `localtime_r` writes the zeroed `tm` we own.
    let tm = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&now, &mut tm);
        tm
    };
    format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
}
