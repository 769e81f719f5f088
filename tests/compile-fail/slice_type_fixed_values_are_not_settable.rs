// The system, type and use a slice fixes are filled in by `new` and cannot be set:
// neither by a struct literal nor by assignment.
use dhp_fhir::{UzCorePatientNationalId, UzCorePatientUzAddress};

fn main() {
    let mut id = UzCorePatientNationalId::new("30101901234567");
    id.system = None;
    let mut address = UzCorePatientUzAddress::new();
    address.country = "KZ".into();
}
