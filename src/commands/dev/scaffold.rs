//! The files `dev new` writes, per system: a spec with a valid rubric, a visible and a hidden
//! scenario and a hint; a brief that pins the conventions those scenarios check; a template that
//! compiles and fails them; a reference solution that passes them. The texts live beside this
//! file, with `{{name}}` placeholders.

use std::path::PathBuf;

use challenge_graders::System;

/// What the placeholders stand for.
pub(super) struct Names<'a> {
    /// The challenge's number.
    pub id: u32,
    /// Its slug, kebab-case.
    pub slug: &'a str,
    /// Its title, from the slug.
    pub title: &'a str,
    /// The harness as the reference solution's manifest reaches it.
    pub harness: &'a str,
}

/// One file to write, relative to the catalogue root.
pub(super) struct File {
    pub path: PathBuf,
    pub text: String,
}

/// Sources for one system, in the order they are written.
struct Sources {
    spec: &'static str,
    brief: &'static str,
    template_manifest: &'static str,
    template_lib: &'static str,
    solution_manifest: &'static str,
    solution_lib: &'static str,
}

fn sources(system: System) -> Option<Sources> {
    Some(match system {
        System::RateLimiter => Sources {
            spec: include_str!("scaffold/rate-limiter/challenge.toml"),
            brief: include_str!("scaffold/rate-limiter/README.md"),
            template_manifest: include_str!("scaffold/rate-limiter/template.toml"),
            template_lib: include_str!("scaffold/rate-limiter/template.rs"),
            solution_manifest: include_str!("scaffold/rate-limiter/solution.toml"),
            solution_lib: include_str!("scaffold/rate-limiter/solution.rs"),
        },
        System::LruCache => Sources {
            spec: include_str!("scaffold/lru-cache/challenge.toml"),
            brief: include_str!("scaffold/lru-cache/README.md"),
            template_manifest: include_str!("scaffold/lru-cache/template.toml"),
            template_lib: include_str!("scaffold/lru-cache/template.rs"),
            solution_manifest: include_str!("scaffold/lru-cache/solution.toml"),
            solution_lib: include_str!("scaffold/lru-cache/solution.rs"),
        },
        // Their graders' scenarios need threads, a scripted factory or a database library; the
        // challenge itself is the example to copy.
        System::ConnectionPool | System::MessageQueue | System::Migrations => return None,
    })
}

/// The files of a new challenge of `system`, or `None` for a system with no scaffold.
pub(super) fn files(system: System, names: &Names<'_>) -> Option<Vec<File>> {
    let dir = format!("{:02}-{}", names.id, names.slug);
    let fill = |text: &str| {
        let filled = text
            .replace("{{id}}", &names.id.to_string())
            .replace("{{slug}}", names.slug)
            .replace("{{title}}", names.title)
            .replace("{{crate}}", &names.slug.replace('-', "_"))
            .replace("{{dir}}", &dir)
            .replace("{{harness}}", names.harness);
        debug_assert!(!filled.contains("{{"), "a placeholder is left in:\n{filled}");
        filled
    };
    let challenge = PathBuf::from("challenges").join(&dir);
    let solution = PathBuf::from("solutions").join(&dir);
    let s = sources(system)?;
    let files = [
        (challenge.join("challenge.toml"), s.spec),
        (challenge.join("README.md"), s.brief),
        (challenge.join("template/Cargo.toml"), s.template_manifest),
        (challenge.join("template/src/lib.rs"), s.template_lib),
        (solution.join("Cargo.toml"), s.solution_manifest),
        (solution.join("src/lib.rs"), s.solution_lib),
    ]
    .into_iter()
    .map(|(path, text)| File { path, text: fill(text) })
    .collect();
    Some(files)
}
