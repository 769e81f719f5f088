// A struct literal must name every field; the required `identifier` is not an Option,
// so it cannot be left as `None` either.
use dhp_fhir::UzCorePatient;

fn main() {
    let patient = UzCorePatient::new(dhp_fhir::NonEmpty::new(UzCorePatient::new_national_id("1".to_string())));
    let _copy = UzCorePatient { identifier: None, ..patient };
}
