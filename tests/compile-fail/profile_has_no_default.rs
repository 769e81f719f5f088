// Profile types do not implement Default, so `..Default::default()` is no way around
// the required elements.
use dhp_fhir::UzCorePatient;

fn main() {
    let _patient: UzCorePatient = Default::default();
}
