//! `challenge start N`: copy the challenge's template into a fresh crate that builds where it
//! lands. Existing work is never overwritten.

use std::path::{Path, PathBuf};

use super::{CommandError, Context};
use crate::progress::Progress;
use crate::spec::ChallengeSpec;

/// The harness path as templates write it, relative to their place in the catalogue.
const TEMPLATE_HARNESS_PATH: &str = "path = \"../../../harness\"";

pub(super) fn run(cx: &Context, query: &str, dir: Option<PathBuf>, editor: Option<String>) -> Result<u8, CommandError> {
    let spec = cx.catalog.find(query)?;
    let dest = dir.unwrap_or_else(|| PathBuf::from(spec.dir_name()));
    if dest.exists() && std::fs::read_dir(&dest).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(CommandError::Usage(format!(
            "{} already exists and is not empty; your work is never overwritten. Test it with `challenge test {} --solution {}`, or pick another place with --dir",
            dest.display(),
            spec.id,
            dest.display()
        )));
    }
    create(cx, spec, &dest)?;
    // Progress is a convenience: failing to save it must not fail the start.
    if let Err(e) = Progress::open().and_then(|p| p.started(&spec.slug)) {
        eprintln!("warning: {e}");
    }

    let lib = dest.join("src").join("lib.rs");
    let lib_shown = lib.canonicalize().unwrap_or_else(|_| lib.clone());
    println!("Created {} from the template of challenge {}: {}.", dest.display(), spec.id, spec.title);
    println!("Next:");
    println!("  challenge show {}            read the brief; it pins every convention", spec.id);
    println!("  edit {}", lib_shown.display());
    let solution = if dest == Path::new(&spec.dir_name()) { String::new() } else { format!(" --solution {}", dest.display()) };
    println!("  challenge test {}{solution}            build and run the visible scenarios", spec.id);
    if let Some(editor) = editor {
        open_in_editor(&editor, &lib)?;
    }
    Ok(crate::exit::PASSED)
}

/// Copies the template of `spec` to `dest` and points it at this tool's harness.
pub(super) fn create(cx: &Context, spec: &ChallengeSpec, dest: &Path) -> Result<(), CommandError> {
    let template = spec.dir.join("template");
    copy_tree(&template, dest).map_err(CommandError::io(format!("failed to copy {} to {}", template.display(), dest.display())))?;
    let manifest = dest.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(CommandError::io(format!("failed to read {}", manifest.display())))?;
    if !text.contains(TEMPLATE_HARNESS_PATH) {
        return Err(CommandError::Usage(format!(
            "{}/Cargo.toml does not depend on the harness with `{TEMPLATE_HARNESS_PATH}`; fix the template",
            template.display()
        )));
    }
    let harness = cx.catalog.harness_dir();
    let harness = harness.canonicalize().unwrap_or(harness);
    let text = text.replace(TEMPLATE_HARNESS_PATH, &format!("path = {:?}", harness.display().to_string()));
    std::fs::write(&manifest, text).map_err(CommandError::io(format!("failed to write {}", manifest.display())))
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
