//! A backend application: `client_credentials`, then create (if absent) and search a
//! UZ Core Patient.
//!
//! Against the local test servers (see `tests/servers/README.md`):
//!
//! ```sh
//! node tests/servers/servers.mjs --write-env /tmp/dhp-servers.env &
//! . /tmp/dhp-servers.env
//! cargo run -p dhp-tests --example backend -- 30101901234567
//! ```
//!
//! Against the DHP playground, set `DHP_CLIENT_ID` and `DHP_CLIENT_SECRET` only (no
//! `DHP_FHIR_BASE`): the client uses `Endpoints::playground()`.

use dhp_fhir::codes::AdministrativeGender;
use dhp_fhir::datatypes::HumanName;
use dhp_fhir::{NonEmpty, UzCorePatient, UzCorePatientNationalId};
use dhp_runtime::client::search::{SearchParams, TokenParam};
use dhp_runtime::client::{ClientCredentials, Endpoints, FhirClient};
use dhp_runtime::primitives::Date;
use std::process::ExitCode;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let endpoints = match (env("DHP_FHIR_BASE"), env("DHP_SSO_BASE")) {
        (Some(fhir), Some(sso)) => Endpoints::custom(fhir, sso),
        _ => Endpoints::playground(),
    };
    let client_id = env("DHP_CLIENT_ID").ok_or("set DHP_CLIENT_ID (and DHP_CLIENT_SECRET)")?;
    let secret = env("DHP_CLIENT_SECRET").ok_or("set DHP_CLIENT_SECRET")?;
    let national_id = std::env::args().nth(1).unwrap_or_else(|| "30101901234567".to_string());

    let client =
        FhirClient::builder(endpoints).client_credentials(ClientCredentials::new(client_id, secret)).build()?;
    let token = client.authenticate().await?;
    println!("token: valid for {:?}", token.remaining().unwrap_or_default());

    // A UZ Core Patient: the national id slice type fills in the system, type and use the
    // profile fixes; only the value is ours to give.
    let mut patient = UzCorePatient::new(NonEmpty::new(UzCorePatientNationalId::new(national_id.clone()).into()));
    patient.name.push(HumanName { family: Some("Karimov".into()), given: vec!["Aziz".into()], ..Default::default() });
    patient.gender = Some(AdministrativeGender::Male.into());
    patient.birth_date = Some(Date::new("1990-05-17")?.into());
    let missing = patient.missing_must_support();
    println!("Must Support elements left empty: {}", missing.len());
    for m in &missing {
        println!("  {m}");
    }

    // Create it unless a patient with this national id exists.
    let by_national_id: SearchParams =
        UzCorePatient::search().identifier(TokenParam::system_code(UzCorePatient::NATIONAL_ID_SYSTEM, &national_id)).into();
    let created = client.create_if_none_exist(&patient, &by_national_id).await?;
    let id = created.id.clone().unwrap_or_default();
    if created.created() {
        println!("created Patient/{id} (version {})", created.version_id.as_deref().unwrap_or("?"));
    } else {
        println!("Patient/{id} already exists");
    }

    // Search by national id, typed.
    let page = client.search::<UzCorePatient>(&by_national_id).await?;
    for p in page.resources() {
        let family =
            p.name.first().and_then(|n| n.family.as_ref()).and_then(|f| f.value()).map_or("", |f| f.as_str());
        let pid = p.id.as_ref().and_then(|i| i.value()).map(|i| i.to_string()).unwrap_or_default();
        println!("found Patient/{pid}: {family}");
    }
    for bad in page.invalid() {
        println!("a match does not conform to UZ Core Patient: {bad}");
    }
    Ok(())
}
