//! `challenge start N`: copy the challenge's template into a fresh crate that builds where it
//! lands. Existing work is never overwritten.
//!
//! Inside a learner workspace the crate becomes a workspace member that depends on the
//! workspace's harness copy by a relative path, so the workspace can move (a clone in CI) and
//! still build. Outside one, the crate stands alone: on the harness of an author's checkout,
//! so edits to it show at once, or else the current directory first becomes a workspace (the
//! first `start` does what `init` would), as long as it holds nothing yet.

use std::path::{Path, PathBuf};

use super::{CommandError, Context};
use crate::progress::Progress;
use crate::spec::ChallengeSpec;
use crate::workspace::{self, Workspace};

/// The harness path as templates write it, relative to their place in the catalogue.
const TEMPLATE_HARNESS_PATH: &str = "path = \"../../../harness\"";

pub(super) fn run(cx: &Context, query: &str, dir: Option<PathBuf>, editor: Option<String>) -> Result<u8, CommandError> {
    let spec = cx.catalog.find(query)?;
    let dest = dir.unwrap_or_else(|| cx.crate_dir(spec));
    if dest.exists() && std::fs::read_dir(&dest).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(CommandError::Usage(format!(
            "{} already exists and is not empty; your work is never overwritten. Test it with `challenge test {} --solution {}`, or pick another place with --dir",
            dest.display(),
            spec.id,
            dest.display()
        )));
    }
    let made = match (&cx.workspace, Workspace::around(&dest)) {
        (None, None) if !cx.catalog.has_own_harness() => {
            first_workspace(cx, spec)?;
            true
        }
        _ => false,
    };
    let placement = placement(cx, &dest)?;
    create(spec, &dest, &placement)?;
    // Progress is a convenience: failing to save it must not fail the start.
    if let Err(e) = Progress::open().and_then(|p| p.started(&spec.slug)) {
        eprintln!("warning: {e}");
    }

    let lib = dest.join("src").join("lib.rs");
    let lib_shown = lib.canonicalize().unwrap_or_else(|_| lib.clone());
    if made {
        println!("Made this directory a learner workspace: its README.md says what is in it.");
    }
    println!("Created {} from the template of challenge {}: {}.", dest.display(), spec.id, spec.title);
    if let Placement::Member(w) = &placement {
        println!(
            "It is a member of the workspace in {}, on the harness copy in .challenge/harness.",
            w.root().display()
        );
    }
    println!("Next:");
    println!("  challenge show {}            read the brief; it pins every convention", spec.id);
    println!("  edit {}", lib_shown.display());
    let solution = if dest == cx.crate_dir(spec) { String::new() } else { format!(" --solution {}", dest.display()) };
    println!("  challenge test {}{solution}            build and run the visible scenarios", spec.id);
    if let Some(editor) = editor {
        open_in_editor(&editor, &lib)?;
    }
    Ok(crate::exit::PASSED)
}

/// Makes the current directory a workspace for the first `start`, if it holds nothing but
/// hidden entries (such as `.git`); anywhere else, asks for `challenge init`.
fn first_workspace(cx: &Context, spec: &ChallengeSpec) -> Result<(), CommandError> {
    let cwd = std::env::current_dir().map_err(CommandError::io("failed to read the current directory"))?;
    let entries = std::fs::read_dir(&cwd).map_err(CommandError::io(format!("failed to read {}", cwd.display())))?;
    let occupied = entries.filter_map(Result::ok).any(|e| !e.file_name().to_string_lossy().starts_with('.'));
    if occupied {
        return Err(CommandError::Usage(format!(
            "{} is not a learner workspace, and it is not empty, so `start` does not make it one: run `challenge init my-work`, then `cd my-work` and `challenge start {}` there",
            cwd.display(),
            spec.id
        )));
    }
    workspace::init(&cwd, false)?;
    if let Err(e) = Progress::open_in(&cwd) {
        eprintln!("warning: {e}");
    }
    // As `init` does: the references' dependencies now, so performance checks work offline.
    if let Err(warning) = crate::reference::prefetch(&cx.catalog) {
        eprintln!("warning: {warning}");
    }
    Ok(())
}

/// Where a crate at `dest` gets its harness.
pub(super) enum Placement {
    /// A member of this workspace, on its harness copy.
    Member(Workspace),
    /// A crate of its own, on the harness in this directory (by absolute path).
    Standalone(PathBuf),
}

/// The placement of a crate at `dest`: a member of the workspace it is in; else standalone on
/// the current workspace's harness copy, or on the catalogue's harness.
pub(super) fn placement(cx: &Context, dest: &Path) -> Result<Placement, CommandError> {
    if let Some(w) = Workspace::around(dest) {
        return Ok(Placement::Member(w));
    }
    match &cx.workspace {
        Some(w) => Ok(Placement::Standalone(w.harness_dir())),
        None => Ok(Placement::Standalone(cx.catalog.harness_dir()?)),
    }
}

/// Copies the template of `spec` to `dest` and points it at the harness `placement` names.
pub(super) fn create(spec: &ChallengeSpec, dest: &Path, placement: &Placement) -> Result<(), CommandError> {
    let template = spec.dir.join("template");
    copy_tree(&template, dest).map_err(CommandError::io(format!(
        "failed to copy {} to {}",
        template.display(),
        dest.display()
    )))?;
    let manifest = dest.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .map_err(CommandError::io(format!("failed to read {}", manifest.display())))?;
    let fix_template =
        |problem: String| CommandError::Usage(format!("{}/Cargo.toml {problem}; fix the template", template.display()));
    if !text.contains(TEMPLATE_HARNESS_PATH) {
        return Err(fix_template(format!("does not depend on the harness with `{TEMPLATE_HARNESS_PATH}`")));
    }
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_owned());
    let text = match placement {
        Placement::Member(w) => {
            let here = canonical(dest);
            let harness = workspace::relative(&here, &canonical(&w.harness_dir()));
            let text = without_own_workspace(&text).map_err(fix_template)?;
            let text = text.replace(TEMPLATE_HARNESS_PATH, &format!("path = {harness:?}"));
            write(&manifest, &text)?;
            w.add_member(&workspace::relative(&canonical(w.root()), &here))?;
            return Ok(());
        }
        Placement::Standalone(harness) => {
            text.replace(TEMPLATE_HARNESS_PATH, &format!("path = {:?}", canonical(harness).display().to_string()))
        }
    };
    write(&manifest, &text)
}

fn write(path: &Path, text: &str) -> Result<(), CommandError> {
    std::fs::write(path, text).map_err(CommandError::io(format!("failed to write {}", path.display())))
}

/// A template's manifest without its empty `[workspace]` table (which makes it build alone) and
/// the comments just above that table, so it can be a member of the learner's workspace.
fn without_own_workspace(text: &str) -> Result<String, String> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(at) = lines.iter().position(|l| l.trim() == "[workspace]") else { return Ok(text.to_owned()) };
    let body_end =
        lines[at + 1..].iter().position(|l| l.trim_start().starts_with('[')).map_or(lines.len(), |n| at + 1 + n);
    if lines[at + 1..body_end].iter().any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')) {
        return Err("declares a [workspace] with keys in it, so it cannot join a learner workspace".to_owned());
    }
    let comment_start = at - lines[..at].iter().rev().take_while(|l| l.trim_start().starts_with('#')).count();
    let mut kept: Vec<&str> = lines[..comment_start].to_vec();
    // The table's blank lines go too, except one to separate what came before from what follows.
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    let rest: Vec<&str> = lines[body_end..].iter().copied().skip_while(|l| l.trim().is_empty()).collect();
    if !rest.is_empty() {
        kept.push("");
        kept.extend(rest);
    }
    let mut out = kept.join("\n");
    out.push('\n');
    Ok(out)
}

/// Runs `editor` (or `$EDITOR` when empty) on `file`, through the shell so editors with
/// arguments (`code --wait`) work.
fn open_in_editor(editor: &str, file: &Path) -> Result<(), CommandError> {
    let editor = match editor {
        "" => std::env::var("EDITOR").ok().filter(|e| !e.trim().is_empty()).ok_or_else(|| {
            CommandError::Usage("--editor without a name needs $EDITOR; set it, or pass --editor CMD".to_owned())
        })?,
        named => named.to_owned(),
    };
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(file)
        .status()
        .map_err(CommandError::io(format!("failed to run {editor}")))?;
    if !status.success() {
        eprintln!("warning: {editor} exited with {status}");
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "target" || name == "Cargo.lock" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::without_own_workspace;

    #[test]
    fn the_templates_own_workspace_table_goes_and_the_rest_stays() {
        let template = "[package]\nname = \"x\"\n\n# Your solution is a crate of its own.\n[workspace]\n\n[lib]\ncrate-type = [\"cdylib\"]\n";
        assert_eq!(
            without_own_workspace(template).unwrap(),
            "[package]\nname = \"x\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n"
        );
        let at_end = "[package]\nname = \"x\"\n[workspace]\n";
        assert_eq!(without_own_workspace(at_end).unwrap(), "[package]\nname = \"x\"\n");
        assert!(without_own_workspace("[workspace]\nmembers = []\n").is_err());
        assert_eq!(without_own_workspace("[package]\n").unwrap(), "[package]\n");
    }
}
