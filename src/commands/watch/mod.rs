//! `challenge watch N`: rebuild and rerun the visible scenarios on every save, and show the result
//! as one compact screen (each scenario's verdict, the first failure in full, the rubric bars)
//! with single-key commands. It never moves on by itself.
//!
//! On a terminal (stdin and stdout both), the screen is cleared and redrawn in raw mode; without
//! one it prints one plain report per change, reads commands as lines from stdin when there is
//! any, and keeps watching until it is killed (SIGINT or SIGTERM) or reads `q`.
//! `CHALLENGE_WATCH_POLL=1` polls for changes instead of asking the OS for file events.

mod files;
mod layout;
mod live;
mod panels;
mod session;
mod tty;
mod view;

pub(super) use session::run;
