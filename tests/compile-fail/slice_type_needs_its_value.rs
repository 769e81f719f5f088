// The nationalId slice requires `value` (1..1): `new` cannot be called without it.
use dhp_fhir::UzCorePatientNationalId;

fn main() {
    let _id = UzCorePatientNationalId::new();
}
