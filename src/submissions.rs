//! Finding what to grade: a crate, a directory of crates, a class laid out as a directory per
//! student, or a `submissions.toml` manifest. A student's crate that is missing is still a
//! submission, recorded with its reason, so nothing is skipped silently.

use std::path::{Path, PathBuf};

use challenge_graders::System;
use serde::Deserialize;
use toml::Spanned;

use crate::catalog::Catalog;
use crate::workspace::Workspace;

/// One crate to grade against one challenge, for one student.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// Who it belongs to.
    pub student: String,
    /// Index into the catalogue's challenges.
    pub challenge: usize,
    /// The crate directory.
    pub path: PathBuf,
    /// Why there is nothing to build, when the crate is missing.
    pub missing: Option<String>,
}

/// A class's layout could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// Bad `submissions.toml`.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// Something else the user must fix.
    #[error("{0}")]
    Usage(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(rename = "submission")]
    submissions: Vec<Spanned<ManifestEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestEntry {
    student: String,
    challenge: String,
    path: PathBuf,
}

/// How to attribute what is found.
pub struct Discovery<'a> {
    /// The catalogue.
    pub catalog: &'a Catalog,
    /// `--challenge`: every crate solves this one.
    pub challenge: Option<usize>,
    /// `--student`: the student for a single crate.
    pub student: Option<&'a str>,
}

impl Discovery<'_> {
    /// Everything under `paths`, sorted by student then challenge.
    pub fn discover(&self, paths: &[PathBuf]) -> Result<Vec<Submission>, DiscoveryError> {
        let mut found = Vec::new();
        for path in paths {
            if !path.is_dir() {
                return Err(DiscoveryError::Usage(format!(
                    "{} is not a directory: pass a crate, a directory of crates, or a class",
                    path.display()
                )));
            }
            if path.join("submissions.toml").is_file() {
                found.extend(self.manifest(&path.join("submissions.toml"))?);
            } else if Workspace::at(path).is_some() {
                found.extend(self.workspace(path)?);
            } else if path.join("Cargo.toml").is_file() {
                let student = self.student.map(str::to_owned).unwrap_or_else(|| dir_name(path));
                found.push(self.crate_submission(student, path)?);
            } else {
                found.extend(self.directory(path)?);
            }
        }
        found.sort_by(|a, b| (&a.student, a.challenge, &a.path).cmp(&(&b.student, b.challenge, &b.path)));
        Ok(found)
    }

    fn crate_submission(&self, student: String, path: &Path) -> Result<Submission, DiscoveryError> {
        let challenge = match self.challenge {
            Some(c) => c,
            None => self
                .named(&dir_name(path))
                .or_else(|| (self.catalog.challenges.len() == 1).then_some(0))
                .or_else(|| self.by_export(path))
                .ok_or_else(|| {
                DiscoveryError::Usage(format!(
                    "cannot tell which challenge {} solves from its name; name it like `01-rate-limiter`, or pass --challenge",
                    path.display()
                ))
            })?,
        };
        Ok(Submission { student, challenge, path: path.to_owned(), missing: None })
    }

    /// The challenge whose export macro the crate's sources call, when exactly one challenge's
    /// system matches: a crate named `my-solution` that calls `export_lru_cache!` solves the one
    /// challenge graded as an LRU cache.
    fn by_export(&self, path: &Path) -> Option<usize> {
        let sources = rust_sources(&path.join("src"));
        let called = |system: System| {
            let name = system.entry().1.rsplit("::").next().unwrap_or_default().trim_end_matches('!');
            sources.iter().any(|text| text.contains(name))
        };
        let mut matching = self.catalog.challenges.iter().enumerate().filter(|(_, c)| called(c.system));
        match (matching.next(), matching.next()) {
            (Some((index, _)), None) => Some(index),
            _ => None,
        }
    }

    /// A learner workspace (a student's repository in CI): one student, one submission per
    /// started challenge, or the one `--challenge` names (missing if it was never started).
    fn workspace(&self, dir: &Path) -> Result<Vec<Submission>, DiscoveryError> {
        let student = self.student.map(str::to_owned).unwrap_or_else(|| dir_name(dir));
        let crates: Vec<(usize, PathBuf)> = subdirs(dir)?
            .into_iter()
            .filter(|c| c.join("Cargo.toml").is_file())
            .filter_map(|c| Some((self.named(&dir_name(&c))?, c)))
            .collect();
        if let Some(challenge) = self.challenge {
            let spec = &self.catalog.challenges[challenge];
            let path = crates.iter().find(|(c, _)| *c == challenge).map(|(_, p)| p.clone());
            let missing = path.is_none().then(|| {
                format!("challenge {} was never started in {} (no {} crate)", spec.id, dir.display(), spec.dir_name())
            });
            let path = path.unwrap_or_else(|| dir.join(spec.dir_name()));
            return Ok(vec![Submission { student, challenge, path, missing }]);
        }
        if crates.is_empty() {
            return Err(DiscoveryError::Usage(format!(
                "{} is a learner workspace with no challenge started yet: `challenge start 1` creates the first crate",
                dir.display()
            )));
        }
        Ok(crates
            .into_iter()
            .map(|(challenge, path)| Submission { student: student.clone(), challenge, path, missing: None })
            .collect())
    }

    /// The challenge a directory name stands for: `01-rate-limiter`, `rate-limiter` or `1`.
    fn named(&self, name: &str) -> Option<usize> {
        self.catalog.challenges.iter().position(|c| name == c.dir_name() || name == c.slug || name == c.id.to_string())
    }

    /// A directory of crates (each its own student), or of student directories (each holding one
    /// crate per challenge).
    fn directory(&self, dir: &Path) -> Result<Vec<Submission>, DiscoveryError> {
        let children = subdirs(dir)?;
        if children.is_empty() {
            return Err(DiscoveryError::Usage(format!("{} holds no crates and no student directories", dir.display())));
        }
        let mut found = Vec::new();
        let mut students = Vec::new();
        for child in children {
            if child.join("Cargo.toml").is_file() {
                found.push(self.crate_submission(dir_name(&child), &child)?);
            } else {
                students.push(child);
            }
        }
        // A class is graded on --challenge, or on every challenge some student has a crate for.
        let mut expected: Vec<usize> = match self.challenge {
            Some(c) => vec![c],
            None => students
                .iter()
                .flat_map(|s| subdirs(s).unwrap_or_default())
                .filter_map(|c| self.named(&dir_name(&c)))
                .collect(),
        };
        expected.sort_unstable();
        expected.dedup();
        if expected.is_empty() && !students.is_empty() && found.is_empty() {
            let c = self.catalog.challenges.len();
            if c != 1 {
                return Err(DiscoveryError::Usage(format!(
                    "no crate under {} is named after a challenge; name them like `01-rate-limiter`, or pass --challenge",
                    dir.display()
                )));
            }
            expected.push(0);
        }
        for student in &students {
            let crates = subdirs(student)?;
            for &challenge in &expected {
                let spec = &self.catalog.challenges[challenge];
                let path = crates.iter().find(|c| self.named(&dir_name(c)) == Some(challenge));
                found.push(Submission {
                    student: dir_name(student),
                    challenge,
                    path: path.cloned().unwrap_or_else(|| student.join(spec.dir_name())),
                    missing: path.is_none().then(|| {
                        format!(
                            "no crate for challenge {} in {} (looked for {}, {} or {})",
                            spec.id,
                            student.display(),
                            spec.dir_name(),
                            spec.slug,
                            spec.id
                        )
                    }),
                });
            }
        }
        Ok(found)
    }

    fn manifest(&self, path: &Path) -> Result<Vec<Submission>, DiscoveryError> {
        let fail = |line, message| DiscoveryError::Manifest { path: path.to_owned(), line, message };
        let source = std::fs::read_to_string(path).map_err(|e| fail(None, format!("failed to read it: {e}")))?;
        let line_of = |offset: usize| Some(source[..offset.min(source.len())].matches('\n').count() + 1);
        let manifest: Manifest = toml::from_str(&source)
            .map_err(|e| fail(e.span().and_then(|s| line_of(s.start)), e.message().to_owned()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        manifest
            .submissions
            .into_iter()
            .map(|entry| {
                let line = line_of(entry.span().start);
                let entry = entry.into_inner();
                let challenge = self
                    .catalog
                    .find(&entry.challenge)
                    .map_err(|e| fail(line, format!("challenge = {:?}: {e}", entry.challenge)))?;
                let challenge = self.catalog.challenges.iter().position(|c| c.id == challenge.id).expect("found above");
                let crate_dir = base.join(&entry.path);
                let missing = (!crate_dir.is_dir())
                    .then(|| format!("{} does not exist (listed in {})", crate_dir.display(), path.display()));
                Ok(Submission { student: entry.student, challenge, path: crate_dir, missing })
            })
            .collect()
    }
}

/// Keeps the submissions of shard `index` (1-based) of `count`: every student lands in exactly
/// one shard, chosen by a hash of the name, so a CI matrix covers a class exactly once.
pub fn shard(submissions: Vec<Submission>, index: u32, count: u32) -> Vec<Submission> {
    submissions
        .into_iter()
        .filter(|s| challenge_harness::ffi::fnv1a(s.student.as_bytes()) % count as u64 == (index - 1) as u64)
        .collect()
}

fn dir_name(path: &Path) -> String {
    path.canonicalize()
        .ok()
        .as_deref()
        .unwrap_or(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("submission")
        .to_owned()
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, DiscoveryError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| DiscoveryError::Usage(format!("failed to read {}: {e}", dir.display())))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| !n.starts_with('.') && n != "target"))
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// The crates near a submission that are not part of it: other students' work, as far as the
/// layout tells, for the sandbox to hide even when they are not graded in the same run. They are
/// the crates beside it and beside the directory that holds it (`class/bob` beside
/// `class/alice`; `class/bob/01-rate-limiter` beside `class/alice/01-rate-limiter`), less what
/// its own build reads (its workspace's members and its path dependencies, as `cargo metadata`
/// lists them) and any directory that holds a path in `keep` (the grader's own files).
pub async fn neighbours(own: &Path, keep: &[&Path]) -> Vec<PathBuf> {
    let own = own.canonicalize().unwrap_or_else(|_| own.to_owned());
    let is_crate = |dir: &PathBuf| dir.join("Cargo.toml").is_file();
    let children = |dir: &Path| subdirs(dir).unwrap_or_default();
    let mut near: Vec<PathBuf> = Vec::new();
    if let Some(parent) = own.parent() {
        near.extend(children(parent).into_iter().filter(is_crate));
        // Not a walk over all of `/` when the submission sits one level under it.
        if let Some(grandparent) = parent.parent().filter(|g| g.parent().is_some()) {
            for uncle in children(grandparent) {
                if is_crate(&uncle) {
                    near.push(uncle.clone());
                }
                near.extend(children(&uncle).into_iter().filter(is_crate));
            }
        }
    }
    let read = path_packages(&own).await;
    let keep: Vec<PathBuf> = keep.iter().map(|k| k.canonicalize().unwrap_or_else(|_| k.to_path_buf())).collect();
    near.sort();
    near.dedup();
    near.retain(|dir| {
        !own.starts_with(dir)
            && !dir.starts_with(&own)
            && !read.iter().any(|r| r.starts_with(dir))
            && !keep.iter().any(|k| k.starts_with(dir))
    });
    near
}

/// The directories of the path packages in the crate's build (its workspace's members and path
/// dependencies), from `cargo metadata`, run outside any sandbox (it runs no build script).
/// Empty when cargo cannot say; the build then reports what is wrong.
async fn path_packages(own: &Path) -> Vec<PathBuf> {
    #[derive(Deserialize)]
    struct Metadata {
        packages: Vec<Package>,
        workspace_root: PathBuf,
    }
    #[derive(Deserialize)]
    struct Package {
        source: Option<String>,
        manifest_path: PathBuf,
    }
    let output = tokio::process::Command::new(crate::cargo_build::cargo_program())
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(own.join("Cargo.toml"))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await;
    let Some(metadata) = output.ok().and_then(|o| serde_json::from_slice::<Metadata>(&o.stdout).ok()) else {
        return Vec::new();
    };
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_owned());
    metadata
        .packages
        .iter()
        .filter(|p| p.source.is_none())
        .filter_map(|p| p.manifest_path.parent().map(canonical))
        .chain([canonical(&metadata.workspace_root)])
        .collect()
}

/// A hash of a crate's sources (every file but `target/`, hidden entries and `Cargo.lock`, in
/// path order), so a regrade can tell the same code from changed code. `Cargo.lock` is left out
/// because cargo may write it during the build, which would make the same code look changed.
pub fn source_hash(dir: &Path) -> std::io::Result<String> {
    fn walk(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "target" || name == "Cargo.lock" {
                continue;
            }
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                walk(root, &path, files)?;
            } else {
                files.push(path.strip_prefix(root).unwrap_or(&path).to_owned());
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.sort();
    let mut all = Vec::new();
    for file in files {
        let bytes = std::fs::read(dir.join(&file))?;
        all.extend_from_slice(file.to_string_lossy().as_bytes());
        all.push(0);
        all.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        all.extend_from_slice(&bytes);
    }
    Ok(format!("{:016x}", challenge_harness::ffi::fnv1a(&all)))
}

/// The text of every `.rs` file under `dir` (unreadable ones are skipped: this only guesses).
fn rust_sources(dir: &Path) -> Vec<String> {
    let mut texts = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return texts };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            texts.extend(rust_sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            texts.extend(std::fs::read_to_string(&path).ok());
        }
    }
    texts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A standalone crate at `dir`, depending on `deps` (sibling names) by path.
    fn krate(dir: &Path, deps: &[&str]) {
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/lib.rs"), "").unwrap();
        // A package name may not start with a digit, as `01-rate-limiter` does.
        let name = format!("crate-{}", dir.file_name().unwrap().to_str().unwrap());
        let deps: String = deps.iter().map(|d| format!("{d} = {{ package = \"crate-{d}\", path = \"../{d}\" }}\n")).collect();
        let manifest = format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n[dependencies]\n{deps}");
        std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    }

    /// `own`'s neighbours, relative to `root`.
    fn neighbours_of(root: &Path, own: &Path, keep: &[&Path]) -> Vec<PathBuf> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let root = root.canonicalize().unwrap();
        let mut near = runtime.block_on(neighbours(own, keep));
        for dir in &mut near {
            *dir = dir.strip_prefix(&root).unwrap().to_owned();
        }
        near
    }

    #[test]
    fn classmates_beside_a_crate_are_its_neighbours_but_its_path_dependencies_are_not() {
        let tmp = tempfile::tempdir().unwrap();
        let class = tmp.path().join("class");
        krate(&class.join("alice"), &["alice-util"]);
        krate(&class.join("alice-util"), &[]);
        krate(&class.join("bob"), &[]);
        std::fs::create_dir_all(class.join("notes")).unwrap();
        let near = neighbours_of(tmp.path(), &class.join("alice"), &[]);
        assert_eq!(near, [PathBuf::from("class/bob")], "alice's own dependency stays; a directory without a crate is not one");
        let keep = class.join("bob/target/release/challenge-worker");
        assert!(neighbours_of(tmp.path(), &class.join("alice"), &[&keep]).is_empty(), "a directory holding the grader's own files is never hidden");
    }

    #[test]
    fn the_other_members_of_a_submissions_workspace_are_not_hidden() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = tmp.path().join("class/alice");
        for member in ["01-rate-limiter", "02-lru-cache"] {
            krate(&ws.join(member), &[]);
            // Members of the workspace below, not standalone.
            let manifest = ws.join(member).join("Cargo.toml");
            let text = std::fs::read_to_string(&manifest).unwrap().replace("[workspace]\n", "");
            std::fs::write(&manifest, text).unwrap();
        }
        std::fs::write(ws.join("Cargo.toml"), "[workspace]\nmembers = [\"01-rate-limiter\", \"02-lru-cache\"]\n").unwrap();
        krate(&tmp.path().join("class/bob"), &[]);
        let near = neighbours_of(tmp.path(), &ws.join("01-rate-limiter"), &[]);
        assert_eq!(near, [PathBuf::from("class/bob")], "cargo reads every member's manifest: hiding one would fail the build");
    }

    #[test]
    fn a_student_per_directory_hides_the_other_students_crates() {
        let tmp = tempfile::tempdir().unwrap();
        let class = tmp.path().join("class");
        krate(&class.join("alice/01-rate-limiter"), &[]);
        krate(&class.join("alice/02-lru-cache"), &[]);
        krate(&class.join("bob/01-rate-limiter"), &[]);
        krate(&class.join("carol"), &[]);
        let near = neighbours_of(tmp.path(), &class.join("alice/01-rate-limiter"), &[]);
        let expected = ["class/alice/02-lru-cache", "class/bob/01-rate-limiter", "class/carol"].map(PathBuf::from);
        assert_eq!(near, expected);
    }
}
