//! Reading `challenge.toml`: parse into raw serde types (unknown keys rejected), then resolve into
//! a [`ChallengeSpec`], naming the file, line and key of anything wrong.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use challenge_graders::{Nanos, ScenarioBody, SpecPart, System};
use serde::Deserialize;
use toml::Spanned;

use super::types::{
    ChallengeSpec, Criterion, Difficulty, Hint, Level, ResourceLimits, Rubric, ScenarioSpec, Visibility,
};

/// The only spec format this tool reads.
pub const FORMAT_VERSION: u32 = 1;

/// Default wall-clock limit for one scenario's worker.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A problem in a spec file, located as precisely as the parser allows.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct SpecError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong and how to fix it; starts with the key when there is one.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    format_version: u32,
    id: u32,
    slug: String,
    title: String,
    system: System,
    difficulty: Difficulty,
    summary: String,
    rubric: RawRubric,
    #[serde(default, rename = "hint")]
    hints: Vec<Spanned<RawHint>>,
    #[serde(rename = "scenario")]
    scenarios: Vec<Spanned<RawScenario>>,
    limits: Option<Spanned<RawLimits>>,
}

/// `[limits]`: every key optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLimits {
    memory_mib: Option<u64>,
    output_mib: Option<u64>,
    cpu: Option<Nanos>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRubric {
    pass_percent: f64,
    #[serde(rename = "criterion")]
    criteria: Vec<RawCriterion>,
    #[serde(rename = "level")]
    levels: Spanned<Vec<RawLevel>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCriterion {
    name: String,
    weight: f64,
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLevel {
    level: u8,
    min_percent: f64,
    label: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHint {
    tier: u32,
    scenario: Option<String>,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    criterion: String,
    points: u32,
    visibility: Visibility,
    description: String,
    seed: Option<u64>,
    timeout: Option<Nanos>,
    config: Spanned<toml::Value>,
    steps: Option<Vec<Spanned<toml::Value>>>,
    check: Option<Spanned<toml::Value>>,
}

/// Loads and validates the spec at `path`.
pub fn load(path: &Path) -> Result<ChallengeSpec, SpecError> {
    let source = std::fs::read_to_string(path).map_err(|e| SpecError {
        path: path.to_owned(),
        line: None,
        message: format!("failed to read the spec: {e}"),
    })?;
    parse(path, &source)
}

/// Validates spec text that was read from `path`.
pub fn parse(path: &Path, source: &str) -> Result<ChallengeSpec, SpecError> {
    let fail = |line: Option<usize>, message: String| SpecError { path: path.to_owned(), line, message };
    let line_of = |span: std::ops::Range<usize>| Some(source[..span.start.min(source.len())].matches('\n').count() + 1);

    // Check the version first, so a newer file gets a clear message rather than a key error.
    let table: toml::Table = toml::from_str(source).map_err(|e| fail(e.span().and_then(&line_of), toml_message(&e)))?;
    match table.get("format_version") {
        Some(toml::Value::Integer(v)) if *v == FORMAT_VERSION as i64 => {}
        Some(v) => {
            return Err(fail(
                None,
                format!("format_version = {v} is not understood by this tool, which reads format_version = {FORMAT_VERSION}; upgrade challenge or fix the spec"),
            ))
        }
        None => return Err(fail(Some(1), format!("missing format_version: add `format_version = {FORMAT_VERSION}` at the top"))),
    }
    let raw: RawSpec = toml::from_str(source).map_err(|e| fail(e.span().and_then(&line_of), toml_message(&e)))?;
    debug_assert_eq!(raw.format_version, FORMAT_VERSION);

    let dir = path.parent().map(Path::to_owned).unwrap_or_default();
    if let Some(name) = dir.file_name().and_then(|n| n.to_str()) {
        let expected = format!("{:02}-{}", raw.id, raw.slug);
        if name != expected {
            return Err(fail(
                None,
                format!(
                    "id = {} and slug = {:?} mean the directory must be named {expected:?}, not {name:?}",
                    raw.id, raw.slug
                ),
            ));
        }
    }

    let rubric = resolve_rubric(raw.rubric, &fail, &line_of)?;
    let mut names = HashSet::new();
    let limits = resolve_limits(raw.limits, &fail, &line_of)?;
    let mut scenarios = Vec::with_capacity(raw.scenarios.len());
    for spanned in raw.scenarios {
        let line = line_of(spanned.span());
        let s = spanned.into_inner();
        let here = |message: String| fail(line, format!("scenario {:?}: {message}", s.name));
        if !names.insert(s.name.clone()) {
            return Err(here("another scenario has this name; names must be unique".to_owned()));
        }
        if !rubric.criteria.iter().any(|c| c.name == s.criterion) {
            let known: Vec<&str> = rubric.criteria.iter().map(|c| c.name.as_str()).collect();
            return Err(here(format!("criterion = {:?} is not in the rubric; use one of {known:?}", s.criterion)));
        }
        if s.points == 0 {
            return Err(here("points = 0 can never count; give it at least 1".to_owned()));
        }
        let body = resolve_body(raw.system, &s, &fail, &line_of)?;
        let timeout = s.timeout.map_or(DEFAULT_TIMEOUT, |t| Duration::from_nanos(t.0));
        let defaults = ResourceLimits::defaults(timeout);
        scenarios.push(ScenarioSpec {
            seed: s.seed.unwrap_or_else(|| challenge_harness::ffi::fnv1a(s.name.as_bytes())),
            timeout,
            limits: ResourceLimits {
                memory: limits.memory.unwrap_or(defaults.memory),
                cpu: limits.cpu.unwrap_or(defaults.cpu),
                output: limits.output.unwrap_or(defaults.output),
            },
            name: s.name,
            criterion: s.criterion,
            points: s.points,
            visibility: s.visibility,
            description: s.description,
            body,
        });
    }
    if scenarios.is_empty() {
        return Err(fail(None, "a challenge needs at least one [[scenario]]".to_owned()));
    }
    for criterion in &rubric.criteria {
        if !scenarios.iter().any(|s| s.criterion == criterion.name) {
            return Err(fail(
                None,
                format!("criterion {:?} has no scenario, so its weight could never be earned", criterion.name),
            ));
        }
    }

    let mut hints = Vec::with_capacity(raw.hints.len());
    for spanned in raw.hints {
        let line = line_of(spanned.span());
        let h = spanned.into_inner();
        if let Some(name) = &h.scenario {
            if !names.contains(name) {
                return Err(fail(line, format!("hint: scenario = {name:?} names no scenario in this file")));
            }
        }
        if h.tier == 0 {
            return Err(fail(line, "hint: tier starts at 1 (the gentlest)".to_owned()));
        }
        hints.push(Hint { tier: h.tier, scenario: h.scenario, text: h.text.trim().to_owned() });
    }
    hints.sort_by_key(|h| h.tier);

    Ok(ChallengeSpec {
        dir,
        id: raw.id,
        slug: raw.slug,
        title: raw.title,
        system: raw.system,
        difficulty: raw.difficulty,
        summary: raw.summary,
        rubric,
        scenarios,
        hints,
    })
}

/// `[limits]`, each key checked against the range a worker can sensibly run in; `None` keeps a
/// key's default, which depends on each scenario's timeout.
struct Overrides {
    memory: Option<u64>,
    cpu: Option<Duration>,
    output: Option<u64>,
}

fn resolve_limits(
    raw: Option<Spanned<RawLimits>>,
    fail: &impl Fn(Option<usize>, String) -> SpecError,
    line_of: &impl Fn(std::ops::Range<usize>) -> Option<usize>,
) -> Result<Overrides, SpecError> {
    let Some(raw) = raw else { return Ok(Overrides { memory: None, cpu: None, output: None }) };
    let line = line_of(raw.span());
    let RawLimits { memory_mib, output_mib, cpu } = raw.into_inner();
    if let Some(m) = memory_mib.filter(|m| !(64..=16_384).contains(m)) {
        return Err(fail(line, format!("limits: memory-mib = {m} is out of range: use 64 to 16384 (the default is 1024)")));
    }
    if let Some(o) = output_mib.filter(|o| !(1..=1024).contains(o)) {
        return Err(fail(line, format!("limits: output-mib = {o} is out of range: use 1 to 1024 (the default is 8)")));
    }
    if let Some(c) = cpu.filter(|c| c.0 < Nanos::SECOND.0) {
        return Err(fail(line, format!("limits: cpu = \"{c}\" is under 1s, the finest limit the kernel enforces: write cpu = \"1s\" or more")));
    }
    Ok(Overrides {
        memory: memory_mib.map(|m| m << 20),
        cpu: cpu.map(|c| Duration::from_nanos(c.0)),
        output: output_mib.map(|o| o << 20),
    })
}

fn toml_message(e: &toml::de::Error) -> String {
    let message = e.message().trim_end();
    let mut out = message.to_owned();
    if message.starts_with("unknown field") {
        out.push_str(" (check the spelling against the spec format in DESIGN.md)");
    }
    out
}

fn resolve_rubric(
    raw: RawRubric,
    fail: &dyn Fn(Option<usize>, String) -> SpecError,
    line_of: &dyn Fn(std::ops::Range<usize>) -> Option<usize>,
) -> Result<Rubric, SpecError> {
    if !(0.0..=100.0).contains(&raw.pass_percent) {
        return Err(fail(None, format!("rubric.pass-percent = {} must be between 0 and 100", raw.pass_percent)));
    }
    let mut seen = HashSet::new();
    for c in &raw.criteria {
        if !seen.insert(c.name.as_str()) {
            return Err(fail(None, format!("rubric: criterion {:?} appears twice", c.name)));
        }
        if !(c.weight > 0.0) {
            return Err(fail(None, format!("rubric: criterion {:?} needs weight > 0", c.name)));
        }
    }
    if raw.criteria.is_empty() {
        return Err(fail(None, "rubric: add at least one [[rubric.criterion]]".to_owned()));
    }
    let line = line_of(raw.levels.span());
    let levels = raw.levels.into_inner();
    let numbered = levels.iter().enumerate().all(|(i, l)| l.level as usize == i + 1);
    let ascending = levels.windows(2).all(|w| w[0].min_percent < w[1].min_percent);
    if levels.len() != 5 || !numbered || !ascending || levels[0].min_percent != 0.0 {
        return Err(fail(
            line,
            "rubric: give exactly five [[rubric.level]] entries, level = 1 to 5 in order, with min-percent rising from 0".to_owned(),
        ));
    }
    Ok(Rubric {
        pass_percent: raw.pass_percent,
        criteria: raw
            .criteria
            .into_iter()
            .map(|c| Criterion { name: c.name, weight: c.weight, description: c.description })
            .collect(),
        levels: levels
            .into_iter()
            .map(|l| Level { level: l.level, min_percent: l.min_percent, label: l.label })
            .collect(),
    })
}

fn resolve_body(
    system: System,
    s: &RawScenario,
    fail: &dyn Fn(Option<usize>, String) -> SpecError,
    line_of: &dyn Fn(std::ops::Range<usize>) -> Option<usize>,
) -> Result<ScenarioBody, SpecError> {
    let json = |v: &toml::Value| serde_json::to_value(v).expect("TOML values convert to JSON");
    let (steps, check) = match (&s.steps, &s.check) {
        (Some(steps), None) => (Some(steps.iter().map(|step| json(step.get_ref())).collect()), None),
        (None, Some(check)) => (None, Some(json(check.get_ref()))),
        (steps, _) => {
            let what = if steps.is_some() { "both `steps` and `check`" } else { "neither `steps` nor `check`" };
            return Err(fail(line_of(s.config.span()), format!("scenario {:?} has {what}; give exactly one", s.name)));
        }
    };
    ScenarioBody::parse(system, json(s.config.get_ref()), steps, check).map_err(|problem| {
        let (line, key) = match problem.part {
            SpecPart::Config => (line_of(s.config.span()), "config".to_owned()),
            SpecPart::Step(i) => (s.steps.as_ref().and_then(|steps| line_of(steps[i].span())), format!("steps[{i}]")),
            SpecPart::Check => (s.check.as_ref().and_then(|c| line_of(c.span())), "check".to_owned()),
        };
        fail(line, format!("scenario {:?}, {key}: {}", s.name, problem.message))
    })
}
