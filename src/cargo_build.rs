//! Building a solution crate as a cdylib with the learner's own cargo, into a target directory
//! this tool owns and shares between submissions, so the harness compiles once.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// The cargo to run: `$CARGO` (set when run under cargo, or by the user), else `cargo` on PATH.
pub fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

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

    /// Where what others built is kept, for the sandbox to hide from a submission: the shared
    /// target dir, the private builds in progress, and every built library (a worker's own
    /// library and the reference it loads are bound back in for it alone).
    pub fn others_builds(&self) -> [PathBuf; 3] {
        [self.target_dir(), self.root.join("private"), self.artifacts_dir()]
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

/// Where a build writes.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// The cache's shared target dir, one build at a time: a learner's own crates (`test`,
    /// `watch`) and the references, so the harness and the dependencies compile once.
    Shared,
    /// A private copy of `seed` (see [`seed`]), deleted after the build: `grade`'s submissions,
    /// so that none can read what another built, nor leave anything in a target dir that another
    /// build reads (a dependency's compiled library, replaced).
    Private {
        /// The seed to copy.
        seed: &'a Path,
    },
}

/// Builds the crate in `dir` (release, `panic = "unwind"` forced) into `target` and returns its
/// cdylib, copied out into the cache's artifacts.
///
/// Inside the sandbox (see [`crate::sandbox`]) the crate's dependencies are fetched first,
/// outside it, and the build itself runs `--offline` with no network, writing only `dir` and the
/// target dir, and unable to see `hidden`: a hostile `build.rs` gets no further than a worker.
pub async fn build(cache: &Cache, dir: &Path, color: bool, target: Target<'_>, hidden: &[&Path]) -> Result<Built, BuildError> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(BuildError::NoManifest { dir: dir.to_owned() });
    }
    let io = |source| BuildError::Io { dir: dir.to_owned(), source };
    let manifest = manifest.canonicalize().map_err(io)?;
    std::fs::create_dir_all(cache.artifacts_dir()).map_err(io)?;
    let started = Instant::now();
    let library = match target {
        Target::Shared => {
            let target_dir = cache.target_dir();
            std::fs::create_dir_all(&target_dir).map_err(io)?;
            // Crates from different submissions often share a name and so an output path: hold
            // a lock from the build until the library is copied out.
            let lock = BuildLock::acquire(&target_dir.join(LOCK)).await.map_err(io)?;
            let cargo = Cargo { dir, manifest: &manifest, target_dir: &target_dir, hidden };
            // Cargo judges a root crate fresh by its package name and its files' mtimes, not by
            // its path: a classmate's same-named crate with older files would look built, and the
            // grader would load the wrong library. Forget this package's last build whenever it
            // came from other sources.
            let provenance = Provenance::new(&target_dir, &manifest, dir);
            if let Some(provenance) = provenance.as_ref().filter(|p| !p.is_current()) {
                // A failed clean leaves nothing stale that the build below would not also reject.
                let _ = cargo.run(&["clean", "--release", "--quiet", "-p", &provenance.package]).await?;
            }
            let library = copy_out(cache, &cargo.build(color).await?).map_err(io)?;
            if let Some(provenance) = provenance {
                provenance.record().map_err(io)?;
            }
            drop(lock);
            library
        }
        Target::Private { seed } => {
            let parent = cache.root.join("private");
            std::fs::create_dir_all(&parent).map_err(io)?;
            let private = tempfile::Builder::new().prefix("build-").tempdir_in(&parent).map_err(io)?;
            let target_dir = private.path().join("target");
            {
                // Not while the seed is being built.
                let _seed = BuildLock::acquire(&seed.join(LOCK)).await.map_err(io)?;
                copy_tree(seed, &target_dir).await.map_err(io)?;
            }
            let cargo = Cargo { dir, manifest: &manifest, target_dir: &target_dir, hidden };
            copy_out(cache, &cargo.build(color).await?).map_err(io)?
        }
    };
    Ok(Built { library, duration: started.elapsed() })
}

/// Builds a challenge's template (the catalogue's own code, which learners' crates start from)
/// into `<cache>/seeds/<name>`, and returns that dir, for [`Target::Private`]: the harness and
/// the dependencies submissions most likely use come compiled as theirs will be, and nothing a
/// submission wrote is ever in it. A failed build leaves a seed with less in it, never a wrong
/// one: cargo rebuilds whatever a submission's build does not find matching.
pub async fn seed(cache: &Cache, name: &str, template: &Path) -> PathBuf {
    let seed = cache.root.join("seeds").join(name);
    // Without a template (or a writable cache) the seed stays empty, and private builds start
    // from nothing; a cache that cannot be written fails the build itself, which says so.
    let _ = std::fs::create_dir_all(&seed);
    let Ok(manifest) = template.join("Cargo.toml").canonicalize() else { return seed };
    if let Ok(_lock) = BuildLock::acquire(&seed.join(LOCK)).await {
        let _ = Cargo { dir: template, manifest: &manifest, target_dir: &seed, hidden: &[] }.build(false).await;
    }
    seed
}

/// The lock file in a target dir.
const LOCK: &str = ".challenge-build.lock";

/// `cp -a` (a reflink where the file system has them): mtimes kept, as cargo's freshness
/// check needs.
async fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut source = from.as_os_str().to_owned();
    source.push("/.");
    let status = tokio::process::Command::new("cp")
        .arg("-a")
        .arg("--reflink=auto")
        .arg(&source)
        .arg(to)
        .stdin(Stdio::null())
        .status()
        .await?;
    if !status.success() {
        return Err(std::io::Error::other(format!("`cp -a {} {}` failed ({status})", from.display(), to.display())));
    }
    Ok(())
}

/// Copies a built library into the artifacts, named by its bytes' hash, so that later builds
/// cannot replace it.
fn copy_out(cache: &Cache, library: &Path) -> std::io::Result<PathBuf> {
    let bytes = std::fs::read(library)?;
    let stem = library.file_stem().and_then(|s| s.to_str()).unwrap_or("solution");
    let copy = cache.artifacts_dir().join(format!("{stem}-{:016x}.so", challenge_harness::ffi::fnv1a(&bytes)));
    if !copy.exists() {
        let partial = copy.with_extension("so.partial");
        std::fs::write(&partial, &bytes)?;
        std::fs::rename(&partial, &copy)?;
    }
    Ok(copy)
}

/// One crate's cargo invocations, into one target dir, under the isolation in force.
struct Cargo<'a> {
    dir: &'a Path,
    manifest: &'a Path,
    target_dir: &'a Path,
    hidden: &'a [&'a Path],
}

impl Cargo<'_> {
    fn io(&self) -> impl Fn(std::io::Error) -> BuildError + '_ {
        |source| BuildError::Io { dir: self.dir.to_owned(), source }
    }

    /// `cargo ARGS` for this crate and target dir; offline in the sandbox.
    async fn run(&self, args: &[&str]) -> Result<std::process::Output, BuildError> {
        let cargo = cargo_program();
        let isolation = crate::sandbox::current();
        let writable = [self.dir, self.target_dir];
        let mut command = isolation.command(&cargo, &writable, &[self.manifest], self.hidden);
        if isolation.is_confined() {
            command.arg(args[0]).arg("--offline").args(&args[1..]);
        } else {
            command.args(args);
        }
        // A build that `watch` cancels (the learner saved again) must not go on holding the lock.
        command
            .arg("--manifest-path")
            .arg(self.manifest)
            .arg("--target-dir")
            .arg(self.target_dir)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command.output().await.map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => BuildError::CargoMissing { cargo },
            _ => self.io()(e),
        })
    }

    /// Fetches (outside the sandbox, the one step with the network), builds, and returns the
    /// cdylib in the target dir.
    async fn build(&self, color: bool) -> Result<PathBuf, BuildError> {
        if crate::sandbox::current().is_confined() {
            // What the lock file names, into cargo's own cache. A failure here (offline, say) is
            // left for the offline build to explain.
            let cargo = cargo_program();
            let mut fetch = tokio::process::Command::new(&cargo);
            fetch.arg("fetch").arg("--quiet").arg("--manifest-path").arg(self.manifest).stdin(Stdio::null()).kill_on_drop(true);
            let _ = fetch.output().await;
        }
        let output = self
            .run(&[
                "build",
                "--release",
                "--lib",
                "--message-format=json-render-diagnostics",
                // A learner's profile may say panic = "abort"; the shims need unwinding to catch
                // panics.
                "--config",
                "profile.release.panic=\"unwind\"",
                "--color",
                if color { "always" } else { "never" },
            ])
            .await?;
        if !output.status.success() {
            let rendered = String::from_utf8_lossy(&output.stderr).into_owned();
            return Err(BuildError::Compile { dir: self.dir.to_owned(), rendered });
        }
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<CargoMessage>(line).ok())
            .filter(|m| m.reason == "compiler-artifact" && m.manifest_path.as_deref() == Some(self.manifest))
            .filter(|m| m.target.as_ref().is_some_and(|t| t.crate_types.iter().any(|c| c == "cdylib")))
            .flat_map(|m| m.filenames)
            .find(|f| f.extension().is_some_and(|e| e == "so" || e == "dylib"))
            .ok_or_else(|| BuildError::NotCdylib { dir: self.dir.to_owned() })
    }
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
