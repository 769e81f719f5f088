use dhp_codegen::lock::PackageRef;
use dhp_codegen::package_set::PackageSet;
use std::collections::BTreeMap;
fn main() {
    let t = std::time::Instant::now();
    let mut ov = BTreeMap::new();
    ov.insert("hl7.fhir.uv.extensions.r5".to_string(), "5.3.0-ballot-tc1".to_string());
    ov.insert("hl7.terminology.r5".to_string(), "7.0.1".to_string());
    let ps = PackageSet::open(std::path::Path::new("/tmp/fhircache"), &PackageRef::new("uz.dhp.core", "0.3.0"), &ov).unwrap();
    eprintln!("open {:?}", t.elapsed());
    let files = dhp_codegen::generate::generate(&ps).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("gen {:?}", t.elapsed());
    let d = dhp_codegen::generate::write(&files, std::path::Path::new("/work/main/generated")).unwrap();
    eprintln!("{:?}", d);
}
