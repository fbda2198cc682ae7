//! Building a solution crate as a cdylib with the learner's own cargo, into a target directory
//! this tool owns and shares between submissions, so the harness compiles once.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Where builds and built libraries are kept between runs.
#[derive(Clone, Debug)]
pub struct Cache {
    /// `$CHALLENGE_CACHE_DIR`, else `$XDG_CACHE_HOME/challenge`, else `~/.cache/challenge`.
    pub root: PathBuf,
}

impl Cache {
    /// The cache for this user, or the one `CHALLENGE_CACHE_DIR` names.
    pub fn locate() -> Cache {
        let root = std::env::var_os("CHALLENGE_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("challenge")))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/challenge")))
            .unwrap_or_else(|| std::env::temp_dir().join("challenge-cache"));
        Cache { root }
    }

    fn target_dir(&self) -> PathBuf {
        self.root.join("target")
    }

    fn artifacts_dir(&self) -> PathBuf {
        self.root.join("artifacts")
    }
}

/// A built library, copied out of the shared target dir so that later builds cannot replace it.
#[derive(Clone, Debug)]
pub struct Built {
    /// The cdylib to load.
    pub library: PathBuf,
    /// How long cargo took.
    pub duration: Duration,
}

/// Why a crate could not be built. Each says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// cargo is not installed.
    #[error("failed to run `{cargo}`: it is not installed or not on PATH; install Rust from https://rustup.rs, or set CARGO to cargo's path")]
    CargoMissing {
        /// What we tried to run.
        cargo: String,
    },
    /// The path is not a crate.
    #[error("no Cargo.toml in {}: point at a solution crate, such as the directory `challenge start` created", dir.display())]
    NoManifest {
        /// The directory given.
        dir: PathBuf,
    },
    /// rustc rejected the code; `rendered` is what cargo printed.
    #[error("the crate at {} failed to compile", dir.display())]
    Compile {
        /// The crate.
        dir: PathBuf,
        /// Cargo's own rendering of the errors.
        rendered: String,
    },
    /// The crate built, but produced no cdylib.
    #[error("the crate at {} is not a cdylib: add `[lib]` with `crate-type = [\"cdylib\"]` to its Cargo.toml", dir.display())]
    NotCdylib {
        /// The crate.
        dir: PathBuf,
    },
    /// Anything else that stopped the build.
    #[error("failed to build the crate at {}: {source}", dir.display())]
    Io {
        /// The crate.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl BuildError {
    /// Cargo's rendered diagnostics, when there are any.
    pub fn rendered(&self) -> Option<&str> {
        match self {
            BuildError::Compile { rendered, .. } => Some(rendered),
            BuildError::CargoMissing { .. }
            | BuildError::NoManifest { .. }
            | BuildError::NotCdylib { .. }
            | BuildError::Io { .. } => None,
        }
    }
}

#[derive(Deserialize)]
struct CargoMessage {
    reason: String,
    manifest_path: Option<PathBuf>,
    target: Option<CargoTarget>,
    #[serde(default)]
    filenames: Vec<PathBuf>,
}

#[derive(Deserialize)]
struct CargoTarget {
    crate_types: Vec<String>,
}

/// Builds the crate in `dir` (release, `panic = "unwind"` forced) and returns its cdylib.
///
/// Inside the sandbox (see [`crate::sandbox`]) the crate's dependencies are fetched first,
/// outside it, and the build itself runs `--offline` with no network, writing only `dir` and the
/// target dir, and unable to see `hidden`: a hostile `build.rs` gets no further than a worker.
pub async fn build(cache: &Cache, dir: &Path, color: bool, hidden: &[&Path]) -> Result<Built, BuildError> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(BuildError::NoManifest { dir: dir.to_owned() });
    }
    let io = |source| BuildError::Io { dir: dir.to_owned(), source };
    let manifest = manifest.canonicalize().map_err(io)?;
    let target_dir = cache.target_dir();
    std::fs::create_dir_all(&target_dir).map_err(io)?;
    std::fs::create_dir_all(cache.artifacts_dir()).map_err(io)?;
    // Crates from different submissions often share a name and so an output path: hold a lock
    // from the build until the library is copied out.
    let lock = BuildLock::acquire(&target_dir.join(".challenge-build.lock")).await.map_err(io)?;

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let isolation = crate::sandbox::current();
    let writable = [dir, target_dir.as_path()];
    let run_cargo = |args: &[&str]| {
        let mut command = isolation.command(&cargo, &writable, &[manifest.as_path()], hidden);
        if isolation.is_confined() {
            command.arg(args[0]).arg("--offline").args(&args[1..]);
        } else {
            command.args(args);
        }
        // A build that `watch` cancels (the learner saved again) must not go on holding the lock.
        command
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target_dir)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let cargo = cargo.clone();
        async move {
            command.output().await.map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => BuildError::CargoMissing { cargo },
                _ => io(e),
            })
        }
    };
    let started = Instant::now();
    if isolation.is_confined() {
        // The one step with the network: what the lock file names, into cargo's own cache. A
        // failure here (offline, say) is left for the offline build to explain.
        let mut fetch = tokio::process::Command::new(&cargo);
        fetch.arg("fetch").arg("--quiet").arg("--manifest-path").arg(&manifest).stdin(Stdio::null()).kill_on_drop(true);
        let _ = fetch.output().await;
    }
    // Cargo judges a root crate fresh by its package name and its files' mtimes, not by its path:
    // a classmate's same-named crate with older files would look built, and the grader would load
    // the wrong library. Forget this package's last build whenever it came from other sources.
    let provenance = Provenance::new(&target_dir, &manifest, dir);
    if let Some(provenance) = provenance.as_ref().filter(|p| !p.is_current()) {
        // A failed clean leaves nothing stale that the build below would not also reject.
        let _ = run_cargo(&["clean", "--release", "--quiet", "-p", &provenance.package]).await?;
    }
    let output = run_cargo(&[
        "build",
        "--release",
        "--lib",
        "--message-format=json-render-diagnostics",
        // A learner's profile may say panic = "abort"; the shims need unwinding to catch panics.
        "--config",
        "profile.release.panic=\"unwind\"",
        "--color",
        if color { "always" } else { "never" },
    ])
    .await?;
    let duration = started.elapsed();
    if !output.status.success() {
        let rendered = String::from_utf8_lossy(&output.stderr).into_owned();
        return Err(BuildError::Compile { dir: dir.to_owned(), rendered });
    }
    let library = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<CargoMessage>(line).ok())
        .filter(|m| m.reason == "compiler-artifact" && m.manifest_path.as_deref() == Some(manifest.as_path()))
        .filter(|m| m.target.as_ref().is_some_and(|t| t.crate_types.iter().any(|c| c == "cdylib")))
        .flat_map(|m| m.filenames)
        .find(|f| f.extension().is_some_and(|e| e == "so" || e == "dylib"))
        .ok_or_else(|| BuildError::NotCdylib { dir: dir.to_owned() })?;
    let bytes = std::fs::read(&library).map_err(io)?;
    let stem = library.file_stem().and_then(|s| s.to_str()).unwrap_or("solution");
    let copy = cache.artifacts_dir().join(format!("{stem}-{:016x}.so", challenge_harness::ffi::fnv1a(&bytes)));
    if !copy.exists() {
        let partial = copy.with_extension("so.partial");
        std::fs::write(&partial, &bytes).map_err(io)?;
        std::fs::rename(&partial, &copy).map_err(io)?;
    }
    if let Some(provenance) = provenance {
        provenance.record().map_err(io)?;
    }
    drop(lock);
    Ok(Built { library: copy, duration })
}

/// Which sources the shared target dir last built a package name from:
/// `<target>/.challenge-provenance/<package>` holds the manifest path and the source hash.
struct Provenance {
    package: String,
    file: PathBuf,
    stamp: String,
}

impl Provenance {
    /// `None` when the manifest names no package (cargo will say what is wrong).
    fn new(target_dir: &Path, manifest: &Path, dir: &Path) -> Option<Provenance> {
        let text = std::fs::read_to_string(manifest).ok()?;
        let table: toml::Table = toml::from_str(&text).ok()?;
        let package = table.get("package")?.get("name")?.as_str()?.to_owned();
        let hash = crate::submissions::source_hash(dir).ok()?;
        let file = target_dir.join(".challenge-provenance").join(&package);
        Some(Provenance { package, file, stamp: format!("{}\n{hash}\n", manifest.display()) })
    }

    fn is_current(&self) -> bool {
        std::fs::read_to_string(&self.file).is_ok_and(|s| s == self.stamp)
    }

    fn record(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(self.file.parent().expect("inside the target dir"))?;
        std::fs::write(&self.file, &self.stamp)
    }
}

/// An exclusive `flock` on a file, released on drop; shared by every `challenge` process.
struct BuildLock {
    _held: std::fs::File,
}

impl BuildLock {
    async fn acquire(path: &Path) -> std::io::Result<BuildLock> {
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
        tokio::task::spawn_blocking(move || {
            use std::os::fd::AsRawFd;
            // SAFETY: flock on an fd we own.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(BuildLock { _held: file })
        })
        .await
        .expect("the lock task does not panic")
    }
}
