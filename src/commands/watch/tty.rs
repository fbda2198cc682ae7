//! The terminal while watching: raw mode that is undone on every way out (return, error, panic,
//! SIGTERM), keys read on a thread of their own, and, without a terminal, commands read as lines.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tokio::sync::mpsc::UnboundedSender;

use super::session::{Input, Key};

/// Whether this process has the terminal in raw mode, so that restoring happens exactly once
/// whichever way out comes first.
static RAW: AtomicBool = AtomicBool::new(false);

/// Raw mode and a hidden cursor for as long as it lives.
pub(super) struct RawTerminal(());

impl RawTerminal {
    /// Puts the terminal in raw mode: keys arrive one at a time, unechoed, and Ctrl-C is a key.
    pub(super) fn enter() -> std::io::Result<RawTerminal> {
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(|| {
            // The default hook prints the panic message; in raw mode it would be garbled and then
            // left on a terminal that no longer echoes, so restore first.
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
            }));
        });
        crossterm::terminal::enable_raw_mode()?;
        RAW.store(true, Ordering::SeqCst);
        let guard = RawTerminal(());
        crossterm::execute!(std::io::stdout(), crossterm::cursor::Hide)?;
        Ok(guard)
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves raw mode, shows the cursor again, and moves below the last screen so the shell's prompt
/// does not overwrite it. Does nothing when the terminal is not raw.
fn restore() {
    if RAW.swap(false, Ordering::SeqCst) {
        let mut out = std::io::stdout();
        // Best effort: the terminal may be gone (a closed ssh session), and nothing is left to tell.
        let _ = crossterm::execute!(out, crossterm::cursor::Show);
        let _ = out.write_all(b"\r\n");
        let _ = out.flush();
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// Sends each key press (and resize) to the session until the session ends or input fails.
pub(super) fn read_keys(tx: &UnboundedSender<Input>) {
    let tx = tx.clone();
    // Blocking reads on a thread of their own: the session's runtime has one thread, busy with runs.
    std::thread::spawn(move || loop {
        let input = match crossterm::event::read() {
            Ok(Event::Key(key)) => match key_command(key) {
                Some(key) => Input::Key(key),
                None => continue,
            },
            Ok(Event::Resize(..)) => Input::Redraw,
            Ok(Event::FocusGained | Event::FocusLost | Event::Mouse(_) | Event::Paste(_)) => continue,
            Err(e) => {
                let _ = tx.send(Input::KeysFailed(format!("failed to read keys: {e}")));
                return;
            }
        };
        if tx.send(input).is_err() {
            return;
        }
    });
}

fn key_command(key: KeyEvent) -> Option<Key> {
    if key.kind != KeyEventKind::Press {
        return None;
    }
    // Raw mode turns Ctrl-C into a key instead of SIGINT; it still means stop.
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, KeyCode::Char('c' | 'd')).then_some(Key::Quit);
    }
    match key.code {
        KeyCode::Char(c) => Key::from_char(c),
        _ => None,
    }
}

/// Without a terminal: each line's first letter is a command. At the end of stdin (often at once:
/// /dev/null under CI) the session just keeps watching.
pub(super) fn read_lines(tx: &UnboundedSender<Input>) {
    let tx = tx.clone();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { return };
            if let Some(key) = line.trim().chars().next().and_then(Key::from_char) {
                if tx.send(Input::Key(key)).is_err() {
                    return;
                }
            }
        }
    });
}

/// The termination signal received, 0 for none.
static SIGNALLED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    // Only an atomic store: nothing else is safe in a signal handler. The session polls it.
    SIGNALLED.store(signal, Ordering::SeqCst);
}

/// Turns SIGTERM and SIGHUP into a request to stop, so the terminal is restored before exit.
/// (SIGINT cannot arrive: raw mode makes Ctrl-C a key.)
pub(super) fn catch_termination() {
    for signal in [libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(signal, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t);
        }
    }
}

/// The termination signal received since [`catch_termination`], if any.
pub(super) fn termination() -> Option<i32> {
    match SIGNALLED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}
