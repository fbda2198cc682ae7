//! Writing the embedded catalogue into the per-user cache, once per catalogue: to
//! `<cache>/catalog/<version>-<hash>/`, which then holds `challenges/`, `harness/` and
//! `solutions/` like a checkout of the course repository. Templates are written as they are (they
//! already build on their own); the harness and each reference solution are made standalone, and
//! each reference gets its slice of the repository's `Cargo.lock`.

use std::path::{Path, PathBuf};

use super::files;
use super::standalone::{self, WorkspaceKeys};

/// Marks a complete extraction: written last, so a half-written directory is never used.
const COMPLETE: &str = ".complete";

/// Inside an extracted reference solution: the cdylib built from it (see `crate::reference`).
pub(crate) const BUILT_RECORD: &str = ".challenge-built";

/// The embedded catalogue could not be written out.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The cache directory could not be written.
    #[error("failed to write the embedded catalogue to {}: {source}; set CHALLENGE_CACHE_DIR to a writable directory", path.display())]
    Io {
        /// What was being written.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An embedded manifest could not be made standalone (a bug in this build of the tool).
    #[error("failed to make the embedded {path} build on its own: {message}")]
    Manifest {
        /// The manifest, relative to the repository root.
        path: String,
        /// Why.
        message: String,
    },
}

/// The directory holding the embedded catalogue, extracting it first if this catalogue has not
/// been extracted under `cache_root` before.
pub(crate) fn extract(cache_root: &Path) -> Result<PathBuf, ExtractError> {
    let parent = cache_root.join("catalog");
    let dir = parent.join(format!("{}-{}", env!("CARGO_PKG_VERSION"), files::HASH));
    if dir.join(COMPLETE).is_file() {
        return Ok(dir);
    }
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ExtractError::Io { path, source }
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    // Write aside and rename into place, so two processes extracting at once never see each
    // other's half-written files; the loser of the rename removes its copy.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let partial = parent.join(format!(".partial-{}-{nanos}", std::process::id()));
    let written = write_all(&partial);
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e);
    }
    if std::fs::rename(&partial, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&partial);
        if !dir.join(COMPLETE).is_file() {
            // Neither ours nor a complete one: a stale directory from an interrupted run.
            std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
            return extract(cache_root);
        }
    }
    Ok(dir)
}

fn write_all(dest: &Path) -> Result<(), ExtractError> {
    let text = |path: &str| std::str::from_utf8(files::get(path).unwrap_or_default()).unwrap_or_default().to_owned();
    let keys = WorkspaceKeys::parse(&text("Cargo.toml"))
        .map_err(|message| ExtractError::Manifest { path: "Cargo.toml".to_owned(), message })?;
    let root_lock = text("Cargo.lock");
    for &(path, bytes) in files::all() {
        if !path.contains('/') {
            // The workspace's own Cargo.toml and Cargo.lock: read above, never a crate here.
            continue;
        }
        let manifest_error = |message| ExtractError::Manifest { path: path.to_owned(), message };
        let is_solution_manifest = path
            .strip_prefix("solutions/")
            .is_some_and(|rest| rest.split('/').count() == 2 && rest.ends_with("/Cargo.toml"));
        let contents: Vec<u8> = if path == "harness/Cargo.toml" {
            harness_manifest(bytes, &keys)?
        } else if is_solution_manifest {
            let manifest = String::from_utf8_lossy(bytes);
            let name =
                standalone::package_name(&manifest).ok_or_else(|| manifest_error("it names no package".to_owned()))?;
            if let Some(lock) = standalone::lock_for(&root_lock, &name).map_err(manifest_error)? {
                let lock_path = path.replace("Cargo.toml", "Cargo.lock");
                write(dest, &lock_path, lock.as_bytes())?;
            }
            standalone::standalone_manifest(&manifest, &keys).map_err(manifest_error)?.into_bytes()
        } else {
            bytes.to_vec()
        };
        write(dest, path, &contents)?;
    }
    write(dest, COMPLETE, b"")
}

/// The embedded harness as it builds on its own: `(path relative to the harness, bytes)`. A
/// learner workspace's copy is exactly these files.
pub(crate) fn standalone_harness() -> Result<Vec<(&'static str, Vec<u8>)>, ExtractError> {
    let root = std::str::from_utf8(files::get("Cargo.toml").unwrap_or_default()).unwrap_or_default();
    let keys = WorkspaceKeys::parse(root)
        .map_err(|message| ExtractError::Manifest { path: "Cargo.toml".to_owned(), message })?;
    files::harness_files()
        .map(|(rel, bytes)| {
            Ok((rel, if rel == "Cargo.toml" { harness_manifest(bytes, &keys)? } else { bytes.to_vec() }))
        })
        .collect()
}

fn harness_manifest(bytes: &[u8], keys: &WorkspaceKeys) -> Result<Vec<u8>, ExtractError> {
    let text = standalone::inherit_workspace_keys(&String::from_utf8_lossy(bytes), keys)
        .map_err(|message| ExtractError::Manifest { path: "harness/Cargo.toml".to_owned(), message })?;
    Ok(format!("# Written by `challenge` from the harness it embeds. Do not edit: in a learner workspace,\n# `challenge init --update-harness` replaces it. Crates depend on it by path, with no registry.\n{text}").into_bytes())
}

fn write(dest: &Path, rel: &str, bytes: &[u8]) -> Result<(), ExtractError> {
    let path = dest.join(rel);
    let io = |source| ExtractError::Io { path: path.clone(), source };
    std::fs::create_dir_all(path.parent().expect("a file in a directory")).map_err(io)?;
    std::fs::write(&path, bytes).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalogue_extracts_with_standalone_references() {
        let cache = tempfile::tempdir().unwrap();
        let dir = extract(cache.path()).unwrap();
        assert_eq!(extract(cache.path()).unwrap(), dir, "a second call reuses the first extraction");
        assert!(dir.join("challenges/01-rate-limiter/challenge.toml").is_file());
        assert!(dir.join("challenges/01-rate-limiter/template/src/lib.rs").is_file());
        assert!(!dir.join("Cargo.toml").exists(), "no workspace above the crates");
        let harness = std::fs::read_to_string(dir.join("harness/Cargo.toml")).unwrap();
        assert!(!harness.contains(".workspace = true"), "{harness}");
        for entry in std::fs::read_dir(dir.join("solutions")).unwrap() {
            let solution = entry.unwrap().path();
            let manifest = std::fs::read_to_string(solution.join("Cargo.toml")).unwrap();
            let table: toml::Table = toml::from_str(&manifest).unwrap();
            assert!(table["workspace"].as_table().unwrap().is_empty(), "{manifest}");
            assert!(table["package"].get("edition").and_then(toml::Value::as_str).is_some(), "{manifest}");
            assert!(manifest.contains("path = \"../../harness\""), "the harness beside it: {manifest}");
        }
        let lock = std::fs::read_to_string(dir.join("solutions/01-rate-limiter/Cargo.lock")).unwrap();
        for package in ["rate-limiter-reference", "challenge-harness", "hashbrown", "parking_lot"] {
            assert!(lock.contains(&format!("name = \"{package}\"")), "{package} in {lock}");
        }
        assert!(!lock.contains("name = \"tokio\""), "only what the reference needs: {lock}");
    }
}
