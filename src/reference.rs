//! The reference solutions that performance checks compare against. A catalogue on disk (a
//! checkout, `--catalog`) is built every time, through cargo's own freshness check, so an author's
//! edit counts at once. The embedded catalogue never changes under a given binary, so each of its
//! references is built once into the per-user cache, recorded beside its extracted sources, and
//! reused from then on without running cargo at all.

use std::path::PathBuf;

use crate::cargo_build::{self, BuildError, Cache};
use crate::catalog::Catalog;
use crate::embedded::BUILT_RECORD;
use crate::spec::ChallengeSpec;

/// The reference cdylib for `spec`, building it if need be.
pub async fn library(catalog: &Catalog, cache: &Cache, spec: &ChallengeSpec) -> Result<PathBuf, BuildError> {
    let dir = catalog.reference_dir(spec);
    let record = dir.join(BUILT_RECORD);
    let reuse = !catalog.origin.is_on_disk();
    if reuse {
        let recorded = std::fs::read_to_string(&record).ok().map(|text| PathBuf::from(text.trim_end()));
        if let Some(library) = recorded.filter(|l| l.is_file()) {
            return Ok(library);
        }
    }
    let built = cargo_build::build(cache, &dir, false, cargo_build::Target::Shared, &[]).await?;
    if reuse {
        // Without the record the next run builds again (a fresh no-op for cargo): nothing is lost.
        let _ = std::fs::write(&record, format!("{}\n", built.library.display()));
    }
    Ok(built.library)
}

/// Puts what the embedded references depend on into the cargo cache now (`init` calls this, when
/// the learner has most likely just installed the tool and is online), so that performance checks
/// need no network later. The error is a warning to show: what could not be fetched, and when
/// it will be fetched instead.
pub fn prefetch(catalog: &Catalog) -> Result<(), String> {
    if catalog.origin.is_on_disk() {
        return Ok(());
    }
    let cargo = crate::cargo_build::cargo_program();
    let mut problems = Vec::new();
    for spec in &catalog.challenges {
        let manifest = catalog.reference_dir(spec).join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        // Only this platform's dependencies: cargo fetch would otherwise download every target's.
        let output = std::process::Command::new(&cargo)
            .args(["fetch", "--quiet", "--target", env!("CHALLENGE_TARGET"), "--manifest-path"])
            .arg(&manifest)
            .stdin(std::process::Stdio::null())
            .output();
        match output {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                let stderr = String::from_utf8_lossy(&o.stderr);
                let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("cargo fetch failed");
                problems.push(format!("{}: {}", spec.dir_name(), first.trim()));
            }
            Err(e) => problems.push(format!("{}: failed to run {cargo}: {e}", spec.dir_name())),
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "could not fetch what the reference solutions need ({}); the first performance check will fetch it, which needs the network once",
            problems.join("; ")
        )),
    }
}
