//! Two jobs at build time:
//! - exports the worker's `clock_gettime` (src/clock_watch.rs) from the `challenge` executable, so
//!   a learner's cdylib resolves its clock reads to it and the grader can count them;
//! - embeds the catalogue: every file under `challenges/`, `harness/` and `solutions/` (and the
//!   workspace's `Cargo.toml` and `Cargo.lock`, which the reference solutions need to build on
//!   their own) becomes a `(path, bytes)` entry in `$OUT_DIR/embedded_catalog.rs`. A challenge
//!   added on disk is picked up by the next build with no code change.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What the binary carries, relative to the package root.
const EMBEDDED_DIRS: &[&str] = &["challenges", "harness", "solutions"];
const EMBEDDED_FILES: &[&str] = &["Cargo.toml", "Cargo.lock"];

fn main() {
    println!("cargo:rustc-link-arg-bins=-Wl,--export-dynamic-symbol=clock_gettime");
    println!("cargo:rerun-if-changed=build.rs");
    // The platform this binary runs on, which is the one learners' crates are built for.
    println!("cargo:rustc-env=CHALLENGE_TARGET={}", std::env::var("TARGET").expect("cargo sets TARGET"));

    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> = Vec::new();
    for dir in EMBEDDED_DIRS {
        // A directory is scanned recursively by cargo: a new, changed or removed file reruns us.
        println!("cargo:rerun-if-changed={dir}");
        walk(&root, &root.join(dir), &mut files);
    }
    for file in EMBEDDED_FILES {
        println!("cargo:rerun-if-changed={file}");
        if root.join(file).is_file() {
            files.push((*file).to_owned());
        }
    }
    files.sort();

    // One hash over every path and its bytes names this exact catalogue, so an upgraded binary
    // extracts afresh and an unchanged one reuses what it extracted before.
    let mut hash = Fnv1a::new();
    let mut out = String::from("/// Every embedded file: its path relative to the repository root, and its bytes.\n");
    out.push_str("pub(crate) static FILES: &[(&str, &[u8])] = &[\n");
    for rel in &files {
        let path = root.join(rel);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()));
        hash.write(rel.as_bytes());
        hash.write(&[0]);
        hash.write(&(bytes.len() as u64).to_le_bytes());
        hash.write(&bytes);
        let _ = writeln!(out, "    ({rel:?}, include_bytes!({:?})),", path.display().to_string());
    }
    out.push_str("];\n\n");
    out.push_str("/// A hash of every embedded path and its bytes (64-bit FNV-1a, hex).\n");
    let _ = writeln!(out, "pub(crate) const HASH: &str = \"{:016x}\";", hash.0);

    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded_catalog.rs");
    // Written only when it changed: a rerun that finds the same catalogue leaves the file alone.
    if std::fs::read_to_string(&dest).ok().as_deref() != Some(out.as_str()) {
        std::fs::write(&dest, out).unwrap_or_else(|e| panic!("failed to write {}: {e}", dest.display()));
    }
}

/// Every file under `dir`, as a `/`-separated path relative to `root`. Build output (`target/`)
/// and hidden files (editor swap files, `.DS_Store`) are not part of the catalogue.
fn walk(root: &Path, dir: &Path, files: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("failed to read {}: {e}", dir.display()));
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        let path = entry.path();
        let file_type = entry.file_type().unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()));
        if file_type.is_dir() {
            walk(root, &path, files);
        } else if file_type.is_file() {
            let rel = path.strip_prefix(root).expect("under the root");
            let rel: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            files.push(rel.join("/"));
        }
    }
}

/// 64-bit FNV-1a, the hash the harness uses for its ABI (no dependency needed here).
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}
