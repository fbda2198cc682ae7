//! `challenge dev new SLUG --system S`: scaffolds a challenge with the next free id: its spec,
//! brief and template under `challenges/NN-slug/`, and its reference solution under
//! `solutions/NN-slug/`, all of which pass `challenge dev check` as written.

use std::path::{Path, PathBuf};

use challenge_graders::System;

use super::scaffold::{self, Names};
use crate::catalog::{Catalog, Origin};
use crate::commands::CommandError;

pub(in crate::commands) fn new(catalog: Option<&Path>, slug: &str, system: &str) -> Result<u8, CommandError> {
    if !is_kebab_case(slug) {
        return Err(CommandError::Usage(format!(
            "{slug:?} is not a slug: use lowercase words of letters and digits joined by hyphens, starting with a letter, such as `token-limits`"
        )));
    }
    let Some(system) = System::ALL.into_iter().find(|s| s.name() == system) else {
        let known: Vec<&str> = System::ALL.iter().map(|s| s.name()).collect();
        return Err(CommandError::Usage(format!(
            "no system {system:?}: a challenge needs a grader, and the graders know {}",
            known.join(", ")
        )));
    };
    let (root, origin) = Catalog::locate(catalog)?;
    if origin == Origin::Embedded {
        return Err(CommandError::Usage(
            "dev new writes a challenge into a catalogue on disk: run it inside a checkout of the course repository, or pass --catalog DIR"
                .to_owned(),
        ));
    }
    let root = std::path::absolute(&root).unwrap_or(root);
    let cwd = std::env::current_dir().unwrap_or_default();
    let show = |path: &Path| path.strip_prefix(&cwd).unwrap_or(path).display().to_string();
    let taken = Taken::scan(&root)?;
    if let Some(dir) = taken.slugs.iter().find_map(|(s, dir)| (s == slug).then_some(dir)) {
        return Err(CommandError::Usage(format!(
            "a challenge with slug {slug:?} already exists at {}; pick another slug",
            show(dir)
        )));
    }
    let id = taken.ids.iter().max().map_or(1, |max| max + 1);

    let title = title(slug);
    let catalog = Catalog { root: root.clone(), origin, challenges: Vec::new() };
    // The reference is graded where it lies: reach the harness relatively inside a checkout, and
    // by its absolute path from a catalogue elsewhere.
    let harness_dir = catalog.harness_dir()?;
    let harness = if harness_dir == root.join("harness") {
        "../../harness".to_owned()
    } else {
        harness_dir.canonicalize().unwrap_or(harness_dir).display().to_string()
    };
    let Some(files) = scaffold::files(system, &Names { id, slug, title: &title, harness: &harness }) else {
        return Err(CommandError::Usage(format!(
            "there is no {system} scaffold yet: copy the challenge that uses that grader (its challenge.toml, \
             README.md and template/) and its solution under solutions/, then renumber it"
        )));
    };
    let dir = format!("{id:02}-{slug}");
    let created = [root.join("challenges").join(&dir), root.join("solutions").join(&dir)];
    if let Err(e) = write_all(&root, &files) {
        // Leave nothing half-made: both directories are new, so they are ours to remove.
        for dir in &created {
            let _ = std::fs::remove_dir_all(dir);
        }
        return Err(e);
    }

    let (challenge, solution) = (show(&created[0]), show(&created[1]));
    println!("Created challenge {id}, {slug}, from the {system} scaffold:");
    println!("  {challenge}/challenge.toml     the spec: rubric, a hint, a visible and a hidden scenario");
    println!("  {challenge}/README.md          the brief: pin every convention the scenarios check");
    println!("  {challenge}/template/          the crate learners start from: it compiles and fails");
    println!("  {solution}/                    the reference solution: it passes every scenario");
    println!("Next:");
    println!("  edit the spec, the brief, the template and the solution (docs/authoring.md walks through them)");
    println!("  challenge dev check            prove the catalogue consistent again after every change");
    println!("The solution builds on its own: its Cargo.toml has an empty [workspace] table. To make it a");
    println!("member of this repository's workspace, delete that table and add \"solutions/{dir}\" to");
    println!("`members` in the root Cargo.toml.");
    Ok(crate::exit::PASSED)
}

/// `token-limits`, `ttl-cache-2`: lowercase letters and digits in hyphen-joined words, starting with
/// a letter (it becomes a crate name too).
fn is_kebab_case(slug: &str) -> bool {
    slug.len() <= 64
        && slug.starts_with(|c: char| c.is_ascii_lowercase())
        && slug
            .split('-')
            .all(|word| !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}

/// `token-limits` → `Token limits`.
fn title(slug: &str) -> String {
    let words = slug.replace('-', " ");
    let mut chars = words.chars();
    chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// Ids and slugs in use, read from directory names (`NN-slug`) under `challenges/` and
/// `solutions/` and from the specs' own `id` and `slug`, so a spec that does not load still counts.
struct Taken {
    ids: Vec<u32>,
    slugs: Vec<(String, PathBuf)>,
}

impl Taken {
    fn scan(root: &Path) -> Result<Taken, CommandError> {
        let mut taken = Taken { ids: Vec::new(), slugs: Vec::new() };
        for parent in [root.join("challenges"), root.join("solutions")] {
            let entries = match std::fs::read_dir(&parent) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(CommandError::io(format!("failed to read {}", parent.display()))(e)),
            };
            for entry in entries {
                let dir = entry.map_err(CommandError::io(format!("failed to read {}", parent.display())))?.path();
                let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
                if let Some((id, slug)) = name.split_once('-').and_then(|(n, s)| Some((n.parse::<u32>().ok()?, s))) {
                    taken.ids.push(id);
                    taken.slugs.push((slug.to_owned(), dir.clone()));
                }
                let spec = std::fs::read_to_string(dir.join("challenge.toml")).ok();
                if let Some(table) = spec.and_then(|text| text.parse::<toml::Table>().ok()) {
                    if let Some(id) =
                        table.get("id").and_then(toml::Value::as_integer).and_then(|i| u32::try_from(i).ok())
                    {
                        taken.ids.push(id);
                    }
                    if let Some(slug) = table.get("slug").and_then(toml::Value::as_str) {
                        taken.slugs.push((slug.to_owned(), dir.clone()));
                    }
                }
            }
        }
        Ok(taken)
    }
}

fn write_all(root: &Path, files: &[scaffold::File]) -> Result<(), CommandError> {
    for file in files {
        let path: PathBuf = root.join(&file.path);
        let parent = path.parent().expect("scaffold files are inside a directory");
        std::fs::create_dir_all(parent).map_err(CommandError::io(format!("failed to create {}", parent.display())))?;
        std::fs::write(&path, &file.text).map_err(CommandError::io(format!("failed to write {}", path.display())))?;
    }
    Ok(())
}
