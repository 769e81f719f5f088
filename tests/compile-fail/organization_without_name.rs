// UZ Core Organization requires `name` (1..1): `new` cannot be called without it.
use dhp_fhir::UzCoreOrganization;

fn main() {
    let _organization = UzCoreOrganization::new();
}
