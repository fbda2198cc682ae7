//! The stage the hostile fixtures act on, shared by their integration test
//! (`tests/integration/hostile.rs`) and the bench that times them (`benches/hostile.rs`): the
//! verdict each must get, the loopback listener and the directories the escape fixtures reach for,
//! and the scans for processes that outlived their worker.

/// (fixture, verdict of the "hostile" scenario, words its message must contain): the same with
/// and without the sandbox.
pub const HOSTILE: &[(&str, &str, &str)] = &[
    ("panic", "panic", "hostile panic"),
    ("infinite-loop", "cpu-limit", "used more than 4s of CPU time"),
    ("panic-abort", "panic", "hostile panic that cannot unwind"),
    ("abort", "crash", "SIGABRT"),
    ("deadlock", "timeout", "it was waiting, not computing"),
    ("segfault", "crash", "segmentation fault (SIGSEGV)"),
    ("main-stack-overflow", "crash", "stack overflow"),
    ("exit-zero", "exited", "std::process::exit"),
    ("stdout-flood", "output-limit", "printed more than"),
    ("memory-bomb", "memory-limit", "ran out of memory"),
    ("thread-stack-overflow", "crash", "SIGSEGV"),
    ("missing-export", "abi-mismatch", "challenge_rate_limiter_v1"),
    ("compile-error", "build-error", "did not build"),
    ("not-cdylib", "build-error", "did not build"),
    ("thread-spin", "cpu-limit", "used more than 4s of CPU time across its threads (the CPU-time limit)"),
    ("fork-bomb", "timeout", "(the wall-clock limit)"),
    // Were one forged "Done" believed, this would be judged as a finished scenario.
    ("forged-records", "exited", "the grader ignored 3 forged lines your code wrote on its private record pipe"),
    ("huge-alloc", "memory-limit", "the address-space limit, 1024 MiB"),
    ("slow-leak", "memory-limit", "ran out of memory"),
    ("thread-bomb", "panic", "failed to spawn thread"),
    ("wrong-abi", "abi-mismatch", "built against a different harness ABI"),
];

/// The fixtures whose verdict depends on the isolation: what they do succeeds only unconfined.
/// (fixture, (verdict, words) confined, (verdict, words) unconfined)
pub const ESCAPES: &[(&str, (&str, &str), (&str, &str))] = &[
    // The PID namespace takes the daemon down with the worker; unconfined, the sweep must find it.
    ("daemon", ("pass", "every expectation held"), ("pass", "the grader killed 2 processes your code left running")),
    ("network", ("pass", "every expectation held"), ("panic", "connected to a loopback listener")),
    ("read-other", ("pass", "every expectation held"), ("panic", "read another submission: the secret of another student")),
    ("write-outside", ("pass", "every expectation held"), ("pass", "every expectation held")),
    ("build-rs", ("pass", "every expectation held"), ("pass", "every expectation held")),
];

/// Where the process-starting fixtures note their pids (`lenient::PID_DIR`).
pub const PID_DIR: &str = "/tmp/challenge-hostile-pids";
/// Where the escape fixtures write and read (`lenient::ESCAPE_DIR`).
pub const ESCAPE_DIR: &str = "/tmp/challenge-escape";
/// The loopback listener the network fixtures call (`lenient::LISTENER`).
pub const LISTENER: &str = "127.0.0.1:47613";

/// The pids the fixtures noted that still run: a killed process whose parent has gone may stay
/// a zombie until init reaps it, which counts as gone.
pub fn still_running() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(PID_DIR) else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid = name.rsplit('-').next()?.to_owned();
            alive(&pid).then_some(name)
        })
        .collect()
}

pub fn alive(pid: &str) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    stat.rsplit(") ").next().and_then(|s| s.chars().next()).is_some_and(|state| state != 'Z')
}

/// Live processes that carry a worker's mark but whose worker is gone (their parent is init): a
/// worker's leftovers that nothing killed. Whatever isolation is in force, there must be none.
pub fn orphaned_workers() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<u32>().ok()?.to_string();
            let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
            let marked = environ.split(|b| *b == 0).any(|v| v.starts_with(b"CHALLENGE_WORKER="));
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let ppid = stat.rsplit(") ").next()?.split(' ').nth(1)?.to_owned();
            (marked && ppid == "1" && alive(&pid)).then_some(pid)
        })
        .collect()
}

/// Everything the loopback listener heard, one line per connection, collected in the background.
pub fn listen() -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    use std::io::BufRead;
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = std::net::TcpListener::bind(LISTENER).expect("the hostile tests' loopback port 47613 is free");
    let sink = std::sync::Arc::clone(&heard);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stream).read_line(&mut line);
            sink.lock().unwrap().push(line.trim().to_owned());
        }
    });
    heard
}

/// Sets up what the escape fixtures look for, and forces `build-rs` to build (and so run its
/// build script) again, since the shared target dir would otherwise find it fresh.
pub fn prepare_escapes(repo: &std::path::Path) {
    let _ = std::fs::remove_dir_all(PID_DIR);
    let _ = std::fs::remove_dir_all(ESCAPE_DIR);
    std::fs::create_dir_all(ESCAPE_DIR).unwrap();
    std::fs::write(format!("{ESCAPE_DIR}/other-submission.rs"), "the secret of another student\n").unwrap();
    let _ = std::fs::remove_file(home_escape());
    let script = repo.join("tests/fixtures/hostile/build-rs/build.rs");
    std::fs::File::options().append(true).open(script).unwrap().set_modified(std::time::SystemTime::now()).unwrap();
}

pub fn home_escape() -> std::path::PathBuf {
    std::path::Path::new(&std::env::var_os("HOME").unwrap_or_default()).join(".challenge-hostile-build-rs")
}
