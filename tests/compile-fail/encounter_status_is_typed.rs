// Encounter.status is bound (required) to a value set: only its codes are values.
use dhp_fhir::UzCoreEncounter;

fn main() {
    let _encounter = UzCoreEncounter::new("finished".to_string().into());
}
