//! The catalogue: where challenges live on disk, and how a learner's "1" or "rate-limiter"
//! becomes a spec.
//!
//! Resolution order: `--catalog DIR` (or `CHALLENGE_CATALOG`), then a checkout of this repo found
//! by walking up from the current directory (so authors see their edits at once), then the
//! catalogue embedded in this binary, extracted into the per-user cache.

use std::path::{Path, PathBuf};

use crate::cargo_build::Cache;
use crate::embedded::{self, ExtractError};
use crate::spec::{self, ChallengeSpec, SpecError};

/// Problems finding or reading the catalogue.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// No catalogue anywhere.
    #[error("failed to find the challenge catalogue: no `challenges/` directory in {searched}; pass --catalog DIR")]
    NotFound {
        /// Where we looked.
        searched: String,
    },
    /// The embedded catalogue could not be written to the cache.
    #[error(transparent)]
    Extract(#[from] ExtractError),
    /// Reading the challenges directory failed.
    #[error("failed to read {}: {source}", dir.display())]
    Read {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A spec is broken.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// Two challenges claim one number.
    #[error("challenges {first:?} and {second:?} both have id = {id}; ids must be unique")]
    DuplicateId {
        /// The number.
        id: u32,
        /// One directory.
        first: String,
        /// The other.
        second: String,
    },
    /// The learner asked for a challenge that does not exist.
    #[error("no challenge {query:?}: use a number or slug from `challenge list` ({known})")]
    Unknown {
        /// What they typed.
        query: String,
        /// What exists.
        known: String,
    },
}

/// Where the catalogue came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `--catalog DIR` or `CHALLENGE_CATALOG`.
    Flag,
    /// A checkout of the course repository around the current directory.
    Checkout,
    /// The copy compiled into this binary, extracted into the cache.
    Embedded,
}

impl Origin {
    /// Whether the catalogue is an author's on disk, whose edits must show at once (so nothing
    /// built from it is reused on trust).
    pub fn is_on_disk(self) -> bool {
        match self {
            Origin::Flag | Origin::Checkout => true,
            Origin::Embedded => false,
        }
    }
}

/// All challenges, in id order.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// The directory holding `challenges/` (and, in a checkout, `harness/` and `solutions/`).
    pub root: PathBuf,
    /// Where it came from.
    pub origin: Origin,
    /// Loaded specs.
    pub challenges: Vec<ChallengeSpec>,
}

impl Catalog {
    /// Finds the catalogue root.
    pub fn locate(explicit: Option<&Path>) -> Result<(PathBuf, Origin), CatalogError> {
        if let Some(dir) = explicit {
            return if dir.join("challenges").is_dir() {
                Ok((dir.to_owned(), Origin::Flag))
            } else {
                Err(CatalogError::NotFound { searched: dir.display().to_string() })
            };
        }
        let cwd = std::env::current_dir().unwrap_or_default();
        let checkout =
            cwd.ancestors().find(|d| d.join("challenges").is_dir() && d.join("harness/Cargo.toml").is_file());
        if let Some(dir) = checkout {
            return Ok((dir.to_owned(), Origin::Checkout));
        }
        Ok((embedded::extract(&Cache::locate().root)?, Origin::Embedded))
    }

    /// Loads every `challenges/*/challenge.toml` under `root`.
    pub fn load(root: &Path, origin: Origin) -> Result<Catalog, CatalogError> {
        let dir = root.join("challenges");
        let read_err = |source| CatalogError::Read { dir: dir.clone(), source };
        let mut challenges: Vec<ChallengeSpec> = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(read_err)? {
            let path = entry.map_err(read_err)?.path().join("challenge.toml");
            if path.is_file() {
                challenges.push(spec::load(&path)?);
            }
        }
        challenges.sort_by_key(|c| c.id);
        if let Some(w) = challenges.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(CatalogError::DuplicateId { id: w[0].id, first: w[0].dir_name(), second: w[1].dir_name() });
        }
        Ok(Catalog { root: root.to_owned(), origin, challenges })
    }

    /// The challenge a learner means by `query`: `1`, `01`, `rate-limiter` or `01-rate-limiter`.
    pub fn find(&self, query: &str) -> Result<&ChallengeSpec, CatalogError> {
        let by_number = query.parse::<u32>().ok();
        self.challenges.iter().find(|c| Some(c.id) == by_number || c.slug == query || c.dir_name() == query).ok_or_else(
            || CatalogError::Unknown {
                query: query.to_owned(),
                known: self.challenges.iter().map(|c| format!("{} {}", c.id, c.slug)).collect::<Vec<_>>().join(", "),
            },
        )
    }

    /// The harness crate that crates made outside a learner workspace depend on: the
    /// catalogue's own, or else the one embedded in this binary.
    pub fn harness_dir(&self) -> Result<PathBuf, CatalogError> {
        let local = self.root.join("harness");
        if local.join("Cargo.toml").is_file() {
            Ok(local)
        } else {
            Ok(embedded::extract(&Cache::locate().root)?.join("harness"))
        }
    }

    /// Whether this catalogue carries its own harness on disk (a checkout, or a full copy of
    /// one), so crates made from it may depend on that harness directly.
    pub fn has_own_harness(&self) -> bool {
        self.origin.is_on_disk() && self.root.join("harness/Cargo.toml").is_file()
    }

    /// The specs' directory, hidden scenarios and all: kept from learners' code in the sandbox.
    pub fn spec_dir(&self) -> Option<PathBuf> {
        self.root.join("challenges").canonicalize().ok()
    }

    /// The reference solution crate for `spec`, used by performance checks.
    pub fn reference_dir(&self, spec: &ChallengeSpec) -> PathBuf {
        self.root.join("solutions").join(spec.dir_name())
    }
}
