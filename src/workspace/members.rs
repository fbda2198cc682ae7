//! The workspace's `Cargo.toml` lists every started challenge in `members`, so rust-analyzer and
//! `cargo build` see them all. `challenge start` adds to that list by editing only the array,
//! so whatever else the learner wrote in the file stays as it was.

use super::layout::{Workspace, WorkspaceError};

/// The manifest `challenge init` writes, with `members` listing `members`.
pub(super) fn manifest(members: &[String]) -> String {
    format!(
        "# The Cargo workspace of your challenge crates, written by `challenge init`. `challenge start N`\n\
         # adds each challenge's crate to `members`, so rust-analyzer and `cargo build` see them all.\n\
         # .challenge/harness is the harness your crates implement; add crates of your own if you like.\n\
         [workspace]\n\
         resolver = \"2\"\n\
         {}\n",
        members_array(members)
    )
}

fn members_array(members: &[String]) -> String {
    let mut out = String::from("members = [\n");
    for member in members {
        out.push_str(&format!("    {member:?},\n"));
    }
    out.push(']');
    out
}

impl Workspace {
    /// Adds `member` (a path relative to the root, `/`-separated) to `members`; `false` when it
    /// was there already.
    pub(crate) fn add_member(&self, member: &str) -> Result<bool, WorkspaceError> {
        let path = self.root().join("Cargo.toml");
        let text = std::fs::read_to_string(&path).map_err(WorkspaceError::io("read", &path))?;
        let by_hand = |why: &str| {
            WorkspaceError::Refused(format!(
                "{why}, so {member} was not added to it: add \"{member}\" to `members` under [workspace] in {} yourself",
                path.display()
            ))
        };
        let table: toml::Table =
            toml::from_str(&text).map_err(|_| by_hand("the workspace's Cargo.toml does not parse"))?;
        let current: Vec<String> = table
            .get("workspace")
            .and_then(|w| w.get("members"))
            .and_then(toml::Value::as_array)
            .ok_or_else(|| by_hand("the workspace's Cargo.toml has no `members` array under [workspace]"))?
            .iter()
            .filter_map(|m| m.as_str().map(str::to_owned))
            .collect();
        if current.iter().any(|m| m.trim_end_matches('/') == member) {
            return Ok(false);
        }
        let span =
            members_span(&text).ok_or_else(|| by_hand("its `members` array is not written as `members = [...]`"))?;
        let mut members = current;
        members.push(member.to_owned());
        let edited = format!("{}{}{}", &text[..span.0], members_array(&members), &text[span.1..]);
        let reparsed: Option<toml::Table> = toml::from_str(&edited).ok();
        let added = reparsed
            .as_ref()
            .and_then(|t| t.get("workspace")?.get("members")?.as_array().cloned())
            .is_some_and(|a| a.iter().any(|m| m.as_str() == Some(member)));
        if !added {
            return Err(by_hand("its `members` array could not be edited safely"));
        }
        std::fs::write(&path, edited).map_err(WorkspaceError::io("write", &path))?;
        Ok(true)
    }
}

/// The byte range of `members = [ ... ]`: from the key at the start of a line to the `]` that
/// closes the array (brackets inside quoted strings and comments do not count).
fn members_span(text: &str) -> Option<(usize, usize)> {
    let mut offset = 0;
    let start = text.split_inclusive('\n').find_map(|line| {
        let at = offset + (line.len() - line.trim_start().len());
        offset += line.len();
        let rest = line.trim_start().strip_prefix("members")?.trim_start();
        rest.strip_prefix('=')?.trim_start().starts_with('[').then_some(at)
    })?;
    let open = start + text[start..].find('[')?;
    let (mut depth, mut in_string, mut in_comment) = (0usize, false, false);
    for (i, c) in text[open..].char_indices() {
        match c {
            '\n' => in_comment = false,
            _ if in_comment => {}
            '"' => in_string = !in_string,
            _ if in_string => {}
            '#' => in_comment = true,
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    return Some((start, open + i + 1));
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_members_array_is_found_whatever_its_layout() {
        let text =
            "[workspace]\n# members = [\"not this\"]\nmembers = [ \"a\", # a [note]\n \"b]\" ]\nresolver = \"2\"\n";
        let (start, end) = members_span(text).unwrap();
        assert_eq!(&text[start..end], "members = [ \"a\", # a [note]\n \"b]\" ]");
        let written = manifest(&[".challenge/harness".to_owned()]);
        let (start, end) = members_span(&written).unwrap();
        assert_eq!(&written[start..end], "members = [\n    \".challenge/harness\",\n]");
    }
}
