//! The matrix's runner: the native floors once, then under each profile every planned row's [`Measure`] with the
//! profile's [`Fixtures`], each row registered with criterion through its [`Bench`].
//!
//! [`Measure`]: super::row::Measure

use super::fixtures::Fixtures;
use super::row::{self, Bench, Row, Timing};
use super::rows::native;
use crate::subject::Subject;
use boundary_host::EngineProfile;
use criterion::Criterion;

/// Measures every native floor.
pub(super) fn measure_natives(c: &mut Criterion) {
    for floor in native::ALL {
        let mut bench = Bench::new(c, floor.id, None, floor.elements, Timing::Call);
        (floor.measure)(&mut bench);
    }
}

/// Measures the rows of `planned` that are measured under `profile`, and returns the criterion ids of those whose
/// measure registered nothing (a missed step in adding a row; see benches/README.md, "Extending").
pub(super) fn measure_profile(
    c: &mut Criterion,
    profile: EngineProfile,
    subject: &Subject,
    planned: &[Row],
) -> Vec<String> {
    let p = profile.name();
    let mut fixtures = Fixtures::new(profile, subject);
    let mut unregistered = Vec::new();
    for row in planned.iter().filter(|row| row.measured_under(p)) {
        let mut bench = Bench::new(c, &row.id, Some(p), row.elements, row.timing);
        (row.measure)(&mut bench, &mut fixtures);
        if !bench.registered() && !row.may_be_left_out() {
            unregistered.push(row::criterion_id(&row.id, p));
        }
    }
    unregistered
}
