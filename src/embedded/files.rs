//! The embedded files themselves: the table build.rs generates, and views of it.

mod generated {
    include!(concat!(env!("OUT_DIR"), "/embedded_catalog.rs"));
}

pub(crate) use generated::HASH;

/// Every embedded file, as `(path relative to the repository root, bytes)`, in path order.
pub(crate) fn all() -> &'static [(&'static str, &'static [u8])] {
    generated::FILES
}

/// One embedded file by its path, such as `Cargo.lock`.
pub(crate) fn get(path: &str) -> Option<&'static [u8]> {
    all().iter().find(|(p, _)| *p == path).map(|(_, bytes)| *bytes)
}

/// The harness crate's files, as `(path relative to harness/, bytes)`. Its `Cargo.toml` is the
/// one in the repository (it inherits keys from the workspace); callers make it standalone.
pub(crate) fn harness_files() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    all().iter().filter_map(|(path, bytes)| Some((path.strip_prefix("harness/")?, *bytes)))
}

/// How many challenges the binary carries.
pub(crate) fn challenge_count() -> usize {
    all()
        .iter()
        .filter(|(path, _)| {
            path.strip_prefix("challenges/")
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(_, file)| file == "challenge.toml")
        })
        .count()
}
