//! `challenge watch` used as a person would: in a pseudo-terminal whose screen a terminal emulator
//! (vt100) reads back, a save redraws the verdicts and `q` quits with 0; through pipes, each change
//! prints one plain report and a `q` line quits. Both edit a copy of the off-by-one fixture into a
//! correct limiter by switching its bug's feature off.

use std::io::{BufRead, BufReader, Read, Write};
use std::num::NonZeroU16;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::support::{command, repo};

/// Long enough for a cold build of the harness, the fixture and the reference solution (for the
/// performance scenario) on a loaded 2-core machine while other tests build too.
const FIRST_RUN: Duration = Duration::from_secs(600);
/// A rebuild of one small crate and a rerun, on the same loaded machine.
const RERUN: Duration = Duration::from_secs(300);
/// `q` must end the process promptly.
const QUIT: Duration = Duration::from_secs(10);

/// A standalone copy of tests/fixtures/buggy/off-by-one in `dir`, its relative paths made
/// absolute. Each test names its package apart, so their builds never evict each other's.
fn off_by_one_copy(dir: &Path, package: &str) -> PathBuf {
    let from = repo().join("tests/fixtures/buggy/off-by-one");
    let to = dir.join(package);
    std::fs::create_dir_all(to.join("src")).unwrap();
    std::fs::copy(from.join("src/lib.rs"), to.join("src/lib.rs")).unwrap();
    let manifest = std::fs::read_to_string(from.join("Cargo.toml")).unwrap();
    let rewritten = manifest
        .replace("\"../../../../harness\"", &format!("{:?}", repo().join("harness").display().to_string()))
        .replace(
            "\"../limiter-base\"",
            &format!("{:?}", repo().join("tests/fixtures/buggy/limiter-base").display().to_string()),
        )
        .replace("name = \"buggy-off-by-one\"", &format!("name = {package:?}"));
    assert!(!rewritten.contains("\"../") && rewritten.contains(package), "the fixture's manifest changed:\n{manifest}");
    std::fs::write(to.join("Cargo.toml"), rewritten).unwrap();
    to
}

/// Switches the off-by-one bug off: the limiter under it is correct.
fn fix(krate: &Path) {
    let manifest = krate.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("features = [\"off-by-one\"]"), "{text}");
    std::fs::write(&manifest, text.replace("features = [\"off-by-one\"]", "features = []")).unwrap();
}

/// Whether the scenario line for `scenario` shows `verdict` ("✗ fail", "✓ pass").
fn shows(text: &str, verdict: &str, scenario: &str) -> bool {
    text.lines().any(|l| l.trim_start().starts_with(verdict) && l.split_whitespace().any(|w| w == scenario))
}

/// Kills the process if the test fails before it exits.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Reaped {
    /// Waits up to `limit` for the process to exit; its exit code.
    fn exit_within(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.0.try_wait().unwrap() {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

/// A program running in a pseudo-terminal, and the screen it draws there.
struct Pty {
    child: Reaped,
    master: std::fs::File,
    screen: Arc<Mutex<vt100::Parser>>,
}

impl Pty {
    /// Runs `cmd` with a new pseudo-terminal of `cols`×`rows` as its controlling terminal and
    /// stdin, stdout and stderr, as a shell in a terminal window would.
    /// `None` when this machine has no pseudo-terminals to give (a container without /dev/pts).
    fn spawn(mut cmd: Command, cols: u16, rows: u16) -> Option<Pty> {
        let (mut master, mut slave) = (-1, -1);
        let size = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: openpty writes two descriptors, which we then own; the other pointers may be null.
        let rc = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
        if rc != 0 {
            eprintln!("note: skipping the terminal test: openpty failed: {}", std::io::Error::last_os_error());
            return None;
        }
        // SAFETY: both were just opened and nothing else owns them.
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        // Other tests spawn processes meanwhile: they must not inherit either end (a stray copy of
        // the terminal would outlive this test). The child gets its copies through dup2 below.
        for fd in [&master, &slave] {
            // SAFETY: setting a descriptor flag on a descriptor we own.
            unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .env("TERM", "xterm-256color");
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                // A session of its own, with the pty (now its stdin) as its controlling terminal.
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = Reaped(cmd.spawn().expect("run the challenge binary"));
        drop(cmd);
        let screen =
            Arc::new(Mutex::new(vt100::Parser::new(NonZeroU16::new(rows).unwrap(), NonZeroU16::new(cols).unwrap(), 0)));
        let mut reader = std::fs::File::from(master.try_clone().unwrap());
        let parser = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            // Ends with EIO once the child has exited and the terminal has no other user.
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                parser.lock().unwrap().process(&buf[..n]);
            }
        });
        Some(Pty { child, master: std::fs::File::from(master), screen })
    }

    /// The screen's rows, as a person sees them.
    fn rows(&self) -> Vec<String> {
        let parser = self.screen.lock().unwrap();
        let cols = parser.screen().size().1;
        parser.screen().rows(0, cols.get()).map(|r| r.trim_end().to_owned()).collect()
    }

    fn press(&mut self, key: &str) {
        self.master.write_all(key.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// Polls the screen until `done` holds for it; fails with the screen after `limit`, or as soon
    /// as the process exits.
    fn wait_for(&mut self, what: &str, limit: Duration, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.rows().join("\n");
            if done(&screen) {
                return screen;
            }
            if let Some(status) = self.child.0.try_wait().unwrap() {
                panic!("challenge watch exited ({status}) while waiting for {what}; the screen:\n{screen}");
            }
            assert!(start.elapsed() < limit, "no {what} within {limit:?}; the screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn in_a_terminal_a_save_redraws_the_verdicts_and_q_quits() {
    let temp = tempfile::tempdir().unwrap();
    let krate = off_by_one_copy(temp.path(), "watch-tty-off-by-one");
    let cmd = command(temp.path(), &["watch", "1", "--solution", krate.to_str().unwrap()]);
    let Some(mut pty) = Pty::spawn(cmd, 120, 50) else { return };

    // The first run streams in; its end is when the state line sums it up.
    let screen = pty.wait_for("a finished run failing fixed-window-basics", FIRST_RUN, |s| {
        shows(s, "✗ fail", "fixed-window-basics") && s.contains("scenarios failing")
    });
    assert!(screen.contains("✗ fixed-window-basics (correctness, 0/2 points)"), "the first failure in full:\n{screen}");
    assert!(screen.contains("- allowed: true") && screen.contains("+ allowed: false"), "{screen}");
    assert!(screen.lines().any(|l| l.starts_with("  correctness    ") && l.contains('█')), "the rubric:\n{screen}");
    let rows = pty.rows();
    assert!(
        rows[49].starts_with("watching ") && rows[49].ends_with("q quit"),
        "the key line is the last row:\n{screen}"
    );
    assert!(rows[48].starts_with("✗ ") && rows[48].contains("scenarios failing"), "the state line above it:\n{screen}");

    // The first hint is the one for the scenario this run failed first: watch recorded the run.
    pty.press("h");
    pty.wait_for("the hint", QUIT, |s| s.contains("Hint, tier 1 (for scenario fixed-window-basics):"));
    pty.press("n");
    pty.wait_for("the refusal to move on", QUIT, |s| s.contains("Challenge 1 is not passed yet"));

    fix(&krate);
    let screen = pty.wait_for("a passing fixed-window-basics", RERUN, |s| shows(s, "✓ pass", "fixed-window-basics"));
    // (Only the fixed scenarios are certain to pass: performance compares timings on a busy machine.)
    assert!(!shows(&screen, "✗ fail", "fixed-window-edge-burst"), "{screen}");
    assert!(pty.rows()[48].contains("Cargo.toml changed"), "the state line says what started the run:\n{screen}");

    pty.press("l");
    pty.wait_for("the list", QUIT, |s| s.lines().any(|l| l.starts_with("▶  1  rate-limiter")));

    pty.press("q");
    assert_eq!(pty.child.exit_within(QUIT), Some(0), "q quits with 0; the screen:\n{}", pty.rows().join("\n"));
    assert!(pty.rows().join("\n").contains("stopped watching"), "{}", pty.rows().join("\n"));
}

#[test]
fn without_a_terminal_each_change_prints_one_plain_report() {
    let temp = tempfile::tempdir().unwrap();
    let krate = off_by_one_copy(temp.path(), "watch-plain-off-by-one");
    let mut cmd = command(temp.path(), &["watch", "1", "--solution", krate.to_str().unwrap()]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = Reaped(cmd.spawn().expect("run the challenge binary"));
    let mut stdin = child.0.stdin.take().unwrap();
    let stdout = child.0.stdout.take().unwrap();
    let text = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&text);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let mut text = sink.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
    let wait_for = |child: &mut Reaped, what: &str, limit: Duration, done: &dyn Fn(&str) -> bool| {
        let start = Instant::now();
        loop {
            let now = text.lock().unwrap().clone();
            if done(&now) {
                return now;
            }
            if let Some(status) = child.0.try_wait().unwrap() {
                panic!("challenge watch exited ({status}) while waiting for {what}; its output:\n{now}");
            }
            assert!(start.elapsed() < limit, "no {what} within {limit:?}; the output:\n{now}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };

    wait_for(&mut child, "a failing fixed-window-basics", FIRST_RUN, &|s| shows(s, "✗ fail", "fixed-window-basics"));
    fix(&krate);
    let out =
        wait_for(&mut child, "a passing fixed-window-basics", RERUN, &|s| shows(s, "✓ pass", "fixed-window-basics"));
    stdin.write_all(b"q\n").unwrap();
    stdin.flush().unwrap();
    assert_eq!(child.exit_within(QUIT), Some(0), "a q line quits with 0; the output:\n{out}");

    let out = text.lock().unwrap().clone();
    assert!(!out.contains('\u{1b}'), "no escapes without a terminal:\n{out}");
    let reports: Vec<&str> = out.lines().filter(|l| l.starts_with("── ")).collect();
    assert_eq!(reports.len(), 2, "one report for the start and one for the save:\n{out}");
    assert!(reports[0].contains("first run") && reports[1].contains("Cargo.toml changed"), "{reports:#?}");
}
