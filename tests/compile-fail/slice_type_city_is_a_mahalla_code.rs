// The uzAddress slice binds `city` to the mahalla value set: free text does not compile.
use dhp_fhir::UzCorePatientUzAddress;

fn main() {
    let mut address = UzCorePatientUzAddress::new();
    address.city = Some("Toshkent".into());
}
