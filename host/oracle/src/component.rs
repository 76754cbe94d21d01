//! The component's `point-add` and `point-add-batch` against the native model and, differentially, against the
//! core module's `point_add` and `point_add_batch` on the same inputs: the same Points passed by value (a WIT
//! record, a `list<point>`) to the component and through linear memory to the core module must give the model's
//! sums, both ways.

use crate::Divergence;
use boundary_host::guest::{Point, add_points};
use boundary_host::{
    ComponentHost, EngineProfile, Error, GuestComponent, GuestModule, GuestOutput, HostOptions, MemoryError, WasmHost,
};

/// Points per list at most.
pub const MAX_POINTS: usize = 512;

/// One input: two lists of Points (as `(x, y)` pairs), of any lengths up to [`MAX_POINTS`]. Pairs at the same index
/// are added one by one with `point-add`, and the lists as a whole with `point-add-batch` (the shorter decides).
#[derive(Debug, Clone, PartialEq, Eq, arbitrary::Arbitrary)]
pub struct PointCase {
    pub a: Vec<(i32, i32)>,
    pub b: Vec<(i32, i32)>,
}

/// The component and the core module, one instance each, under one profile, with room reserved in the core
/// module's memory for the batch.
#[derive(Debug)]
pub struct ComponentOracle {
    component: ComponentHost,
    core: WasmHost,
    area: usize,
}

impl ComponentOracle {
    pub fn new(profile: EngineProfile) -> Result<Self, Error> {
        let options = HostOptions { output: GuestOutput::Discard, ..HostOptions::default() };
        let component = GuestComponent::quiet_guest(profile, options)?.instantiate()?;
        let mut core = GuestModule::quiet_guest(profile, options)?.instantiate()?;
        let area = core.reserve(3 * MAX_POINTS * size_of::<Point>())?;
        Ok(ComponentOracle { component, core, area })
    }

    /// Runs `case` on both forms of the guest and compares each result with the native model (`add_points`), so
    /// with the other form too.
    pub fn check(&mut self, case: &PointCase) -> Result<(), Divergence> {
        self.check_with_model(case, add_points)
    }

    /// [`ComponentOracle::check`] against another model of one sum: how the tests show that a wrong model (so a
    /// wrong guest) is caught.
    pub fn check_with_model(
        &mut self,
        case: &PointCase,
        model: impl Fn(Point, Point) -> Point,
    ) -> Result<(), Divergence> {
        let points = |pairs: &[(i32, i32)]| -> Vec<Point> {
            pairs.iter().take(MAX_POINTS).map(|&(x, y)| Point::new(x, y)).collect()
        };
        let (a, b) = (points(&case.a), points(&case.b));
        let model: Vec<Point> = a.iter().zip(&b).map(|(&a, &b)| model(a, b)).collect();
        for (step, ((&a, &b), &want)) in a.iter().zip(&b).zip(&model).enumerate() {
            let what = || format!("point-add({a}, {b})");
            let by_value = self.component.point_add(a, b).map_err(|e| failed(step, what(), &want, e))?;
            compare(step, what(), "the component", &want, &by_value)?;
            let in_memory = self.core_batch(&[a], &[b]).map_err(|e| failed(step, what(), &want, e))?;
            compare(step, what(), "the core module", &[want][..], &in_memory[..])?;
        }
        let step = model.len();
        let what = || format!("point-add-batch over {} and {} Points", a.len(), b.len());
        let wit = |points: &[Point]| points.iter().map(|&p| p.into()).collect::<Vec<_>>();
        let lists = self.component.point_add_batch(&wit(&a), &wit(&b)).map_err(|e| failed(step, what(), &model, e))?;
        let lists: Vec<Point> = lists.into_iter().map(Point::from).collect();
        compare(step, what(), "the component", &model, &lists)?;
        let batch = self.core_batch(&a, &b).map_err(|e| failed(step, what(), &model, e))?;
        compare(step, what(), "the core module", &model, &batch)
    }

    /// The core module's `point_add_batch` over the shorter of the two lists, copied in and out of its memory.
    fn core_batch(&mut self, a: &[Point], b: &[Point]) -> Result<Vec<Point>, Error> {
        let n = a.len().min(b.len());
        let bytes = MAX_POINTS * size_of::<Point>();
        let (a_at, b_at, out_at) = (self.area, self.area + bytes, self.area + 2 * bytes);
        self.core.write_bytes(a_at, bytemuck::cast_slice(&a[..n]))?;
        self.core.write_bytes(b_at, bytemuck::cast_slice(&b[..n]))?;
        let size = self.core.memory_size();
        let offset = |at: usize| u32::try_from(at).map_err(|_| MemoryError { offset: at, len: 0, memory_size: size });
        self.core.point_add_batch(offset(out_at)?, offset(a_at)?, offset(b_at)?, n as u32)?;
        let mut out = vec![Point::default(); n];
        self.core.read_bytes(out_at, bytemuck::cast_slice_mut(&mut out))?;
        Ok(out)
    }
}

fn compare<T: PartialEq + std::fmt::Debug + ?Sized>(
    step: usize,
    what: String,
    who: &str,
    expected: &T,
    actual: &T,
) -> Result<(), Divergence> {
    if expected == actual {
        return Ok(());
    }
    Err(Divergence {
        step: Some(step),
        what: format!("{what} in {who}"),
        expected: format!("{expected:?}"),
        actual: format!("{actual:?}"),
    })
}

fn failed<T: std::fmt::Debug + ?Sized>(step: usize, what: String, expected: &T, error: Error) -> Divergence {
    Divergence { step: Some(step), what, expected: format!("{expected:?}"), actual: format!("an error: {error}") }
}
