// UZ Core Patient requires `identifier` (1..*): `new` cannot be called without it.
use dhp_fhir::UzCorePatient;

fn main() {
    let _patient = UzCorePatient::new();
}
