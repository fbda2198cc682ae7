//! Making a workspace member build on its own: its `key.workspace = true` lines get the
//! workspace's values, and a reference solution gets an empty `[workspace]` table and a
//! `Cargo.lock` cut from the repository's, so it builds with the exact versions the repository
//! was tested with and needs no registry when they are already in the cargo cache.

use std::collections::{BTreeSet, HashMap};

/// The keys a member can inherit: `[workspace.package]` and `[workspace.dependencies]` of the
/// repository's root `Cargo.toml`.
pub(crate) struct WorkspaceKeys {
    package: toml::Table,
    dependencies: toml::Table,
}

impl WorkspaceKeys {
    /// Reads them from the root manifest's text.
    pub(crate) fn parse(root_manifest: &str) -> Result<WorkspaceKeys, String> {
        let table: toml::Table = toml::from_str(root_manifest).map_err(|e| e.message().to_owned())?;
        let workspace = table.get("workspace").and_then(toml::Value::as_table);
        let sub = |key: &str| workspace.and_then(|w| w.get(key)).and_then(toml::Value::as_table).cloned();
        Ok(WorkspaceKeys {
            package: sub("package").unwrap_or_default(),
            dependencies: sub("dependencies").unwrap_or_default(),
        })
    }
}

/// `manifest` with each `key.workspace = true` line replaced by `key = <the workspace's value>`:
/// package keys from `[workspace.package]`, dependencies from `[workspace.dependencies]`. Any
/// other spelling of inheritance (`{ workspace = true, … }`) is an error, so a member that cannot
/// be made standalone is caught by the tests rather than by a learner.
pub(crate) fn inherit_workspace_keys(manifest: &str, keys: &WorkspaceKeys) -> Result<String, String> {
    let mut out = String::with_capacity(manifest.len());
    let mut section = String::new();
    for line in manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed.trim_matches(|c| c == '[' || c == ']').trim().to_owned();
        }
        let inherited = trimmed
            .split_once('=')
            .filter(|(_, value)| value.trim() == "true")
            .and_then(|(key, _)| key.trim().strip_suffix(".workspace"))
            .map(str::trim);
        match inherited {
            Some(key) => {
                let (table, from) = if section == "package" {
                    (&keys.package, "[workspace.package]")
                } else if section.ends_with("dependencies") {
                    (&keys.dependencies, "[workspace.dependencies]")
                } else {
                    return Err(format!(
                        "`{trimmed}` in [{section}]: only package keys and dependencies can be inherited"
                    ));
                };
                let value =
                    table.get(key).ok_or_else(|| format!("`{trimmed}`: the workspace's {from} has no `{key}`"))?;
                if value.as_table().is_some_and(|t| t.contains_key("path")) {
                    return Err(format!("`{trimmed}`: a path dependency cannot be inherited outside the workspace"));
                }
                out.push_str(&format!("{key} = {value}\n"));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    let parsed: toml::Table = toml::from_str(&out).map_err(|e| e.message().to_owned())?;
    if let Some(place) = inherits(&parsed) {
        return Err(format!("{place} still inherits from the workspace (`workspace = true`); write `key.workspace = true` on a line of its own"));
    }
    Ok(out)
}

/// Where a manifest still says `workspace = true`, if anywhere.
fn inherits(table: &toml::Table) -> Option<String> {
    for (key, value) in table {
        if key == "workspace" && value.as_bool() == Some(true) {
            return Some("a key".to_owned());
        }
        if let Some(inner) = value.as_table() {
            if let Some(place) = inherits(inner) {
                return Some(if place == "a key" { format!("`{key}`") } else { place });
            }
        }
    }
    None
}

/// A reference solution's manifest made standalone: inherited keys resolved, and an empty
/// `[workspace]` so cargo does not look for the repository's workspace above it.
pub(crate) fn standalone_manifest(manifest: &str, keys: &WorkspaceKeys) -> Result<String, String> {
    let mut text = inherit_workspace_keys(manifest, keys)?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| e.message().to_owned())?;
    if !table.contains_key("workspace") {
        text.push_str("\n# Extracted from the `challenge` binary: built on its own, outside the course's workspace.\n[workspace]\n");
    }
    Ok(text)
}

/// The package name a manifest declares.
pub(crate) fn package_name(manifest: &str) -> Option<String> {
    let table: toml::Table = toml::from_str(manifest).ok()?;
    Some(table.get("package")?.get("name")?.as_str()?.to_owned())
}

/// The part of the repository's `Cargo.lock` that `package` depends on (itself included), as a
/// lock file of its own; `None` when the lock does not know the package (a new solution that is
/// not a workspace member yet: cargo then resolves its dependencies itself).
pub(crate) fn lock_for(root_lock: &str, package: &str) -> Result<Option<String>, String> {
    let lock: toml::Table = toml::from_str(root_lock).map_err(|e| e.message().to_owned())?;
    let packages: Vec<&toml::Table> = lock
        .get("package")
        .and_then(toml::Value::as_array)
        .map(|a| a.iter().filter_map(toml::Value::as_table).collect())
        .unwrap_or_default();
    let field = |p: &toml::Table, key: &str| p.get(key).and_then(toml::Value::as_str).map(str::to_owned);
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, p) in packages.iter().enumerate() {
        by_name.entry(field(p, "name").unwrap_or_default()).or_default().push(i);
    }
    let Some(&start) = by_name.get(package).and_then(|v| v.first()) else { return Ok(None) };

    // A dependency is written `name`, `name version` or `name version (source)`: the shortest
    // spelling that is unambiguous in this lock.
    let resolve = |dep: &str| -> Result<usize, String> {
        let mut parts = dep.split_whitespace();
        let name = parts.next().unwrap_or_default();
        let version = parts.next();
        let candidates = by_name.get(name).ok_or_else(|| format!("the lock names `{dep}` but has no such package"))?;
        candidates
            .iter()
            .copied()
            .find(|&i| version.is_none_or(|v| field(packages[i], "version").as_deref() == Some(v)))
            .ok_or_else(|| format!("the lock names `{dep}` but has no such version"))
    };
    let mut keep = BTreeSet::from([start]);
    let mut todo = vec![start];
    while let Some(i) = todo.pop() {
        let deps = packages[i].get("dependencies").and_then(toml::Value::as_array);
        for dep in deps.into_iter().flatten().filter_map(toml::Value::as_str) {
            let j = resolve(dep)?;
            if keep.insert(j) {
                todo.push(j);
            }
        }
    }
    let mut out = toml::Table::new();
    if let Some(version) = lock.get("version") {
        out.insert("version".to_owned(), version.clone());
    }
    let kept = keep.into_iter().map(|i| toml::Value::Table(packages[i].clone())).collect();
    out.insert("package".to_owned(), toml::Value::Array(kept));
    let body = toml::to_string(&out).map_err(|e| e.to_string())?;
    Ok(Some(format!(
        "# Cut from the course repository's Cargo.lock by `challenge`: the versions it was tested with.\n{body}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = r#"
[workspace]
members = ["a"]
[workspace.package]
edition = "2021"
license = "MIT OR Apache-2.0"
[workspace.dependencies]
foldhash = "0.2"
"#;

    #[test]
    fn inherited_keys_get_the_workspace_values() {
        let keys = WorkspaceKeys::parse(ROOT).unwrap();
        let manifest = "[package]\nname = \"a\"\nedition.workspace = true\nlicense.workspace = true\n\n[dependencies]\nfoldhash.workspace = true\nx = { path = \"../x\" }\n";
        let out = standalone_manifest(manifest, &keys).unwrap();
        assert!(out.contains("edition = \"2021\"\n"), "{out}");
        assert!(out.contains("license = \"MIT OR Apache-2.0\"\n"), "{out}");
        assert!(out.contains("foldhash = \"0.2\"\n"), "{out}");
        assert!(out.contains("x = { path = \"../x\" }"), "{out}");
        assert!(out.ends_with("[workspace]\n"), "{out}");
    }

    #[test]
    fn inline_inheritance_and_unknown_keys_are_errors() {
        let keys = WorkspaceKeys::parse(ROOT).unwrap();
        let inline = "[package]\nname = \"a\"\n[dependencies]\nfoldhash = { workspace = true, features = [] }\n";
        assert!(inherit_workspace_keys(inline, &keys).unwrap_err().contains("`foldhash` still inherits"));
        let unknown = "[package]\nname = \"a\"\nrust-version.workspace = true\n";
        assert!(inherit_workspace_keys(unknown, &keys).unwrap_err().contains("has no `rust-version`"));
    }

    #[test]
    fn the_lock_keeps_exactly_the_package_and_what_it_depends_on() {
        let lock = r#"
version = 4

[[package]]
name = "a"
version = "0.1.0"
dependencies = ["b", "c 0.2.0"]

[[package]]
name = "b"
version = "1.0.0"
source = "registry+https://example.invalid/index"
checksum = "00"

[[package]]
name = "c"
version = "0.1.0"

[[package]]
name = "c"
version = "0.2.0"
dependencies = ["b"]

[[package]]
name = "unrelated"
version = "1.0.0"
"#;
        let out = lock_for(lock, "a").unwrap().unwrap();
        let parsed: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(parsed["version"].as_integer(), Some(4));
        let kept: Vec<String> = parsed["package"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| format!("{} {}", p["name"].as_str().unwrap(), p["version"].as_str().unwrap()))
            .collect();
        assert_eq!(kept, ["a 0.1.0", "b 1.0.0", "c 0.2.0"]);
        assert!(out.contains("checksum = \"00\""), "{out}");
        assert_eq!(lock_for(lock, "missing").unwrap(), None);
    }
}
