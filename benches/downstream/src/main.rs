//! Reads a `UzCorePatient` from the file named on the command line and writes it back.

use dhp_fhir::UzCorePatient;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: dhp-downstream PATIENT.json");
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    match UzCorePatient::from_json_str(&text) {
        Ok(patient) => println!("{}", patient.to_json_string()),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
