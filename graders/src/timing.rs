//! Judging a performance check: the learner's and the reference's trials alternated in one worker,
//! compared by their medians, so drift in machine load hits both sides alike.

use crate::judgement::{Failure, Judgement};

fn median(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or(0)
}

/// Passes when the learner's median time is at most `max_ratio` times the reference's; `hint`
/// says where slowness usually comes from in this system.
pub fn compare(learner: &[u64], reference: &[u64], max_ratio: f64, hint: &str) -> Judgement {
    let (l, r) = (median(learner), median(reference).max(1));
    let ratio = l as f64 / r as f64;
    let measured = format!(
        "{ratio:.2}× the reference's time (median of {}: {:.2} ms against {:.2} ms)",
        learner.len(),
        l as f64 / 1e6,
        r as f64 / 1e6
    );
    if ratio > max_ratio {
        let mut failure = Failure::new("the same seeded workload, timed against the reference solution");
        failure.expected = format!("at most {max_ratio:.2}× the reference's time");
        failure.actual = measured;
        failure.hint = Some(hint.to_owned());
        return Judgement::Fail(failure);
    }
    Judgement::Pass { note: Some(measured) }
}

/// Judges a timing observation: a panic in the learner's trials, none recorded, or the ratio.
pub fn judge(timing: Option<(&[u64], &[u64], Option<&String>)>, max_ratio: f64, hint: &str) -> Judgement {
    match timing {
        None => Judgement::Fail(Failure::new("the performance check reported no timings")),
        Some((_, _, Some(message))) => Judgement::Panic(crate::PanicReport::new(message.clone())),
        Some((learner, reference, None)) => compare(learner, reference, max_ratio, hint),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_medians_against_the_allowed_ratio() {
        assert!(matches!(compare(&[30, 10, 20], &[10, 10, 10], 2.0, ""), Judgement::Pass { .. }));
        let Judgement::Fail(failure) = compare(&[30, 40, 35], &[10, 10, 10], 2.0, "scan less") else { panic!() };
        assert!(failure.actual.starts_with("3.50×"), "{}", failure.actual);
        assert_eq!(failure.hint.as_deref(), Some("scan less"));
    }
}
