//! `dhp push`, `dhp get`, `dhp search`: the REST client for scripts.
//!
//! Where the server and the credentials come from, first found wins per setting:
//! the environment (`DHP_FHIR_URL`, `DHP_SSO_URL`, `DHP_TOKEN_URL`, `DHP_CLIENT_ID`,
//! `DHP_CLIENT_SECRET`, `DHP_SCOPE`, `DHP_BEARER_TOKEN`), then a config file
//! (`--config FILE`, else `$DHP_CONFIG`, else `~/.config/dhp/config`) of `key = value`
//! lines with the same names in lower case without the prefix (`fhir_url = …`,
//! `client_secret = …`). Secrets are never taken from the command line.

use dhp_runtime::client::{ClientCredentials, Endpoints, FhirClient, Method, SearchParams, Secret};
use dhp_runtime::JsonValue;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The settings, merged from the environment and the config file.
#[derive(Debug, Default)]
pub struct Settings {
    values: BTreeMap<&'static str, String>,
}

/// Setting names (the config file's keys; `DHP_` + upper case in the environment).
const KEYS: [&str; 7] = ["fhir_url", "sso_url", "token_url", "client_id", "client_secret", "scope", "bearer_token"];

impl Settings {
    /// Reads the environment, then the config file (`config`, or the default places).
    pub fn load(config: Option<&Path>) -> Result<Settings, String> {
        let mut values = BTreeMap::new();
        for key in KEYS {
            if let Some(v) = std::env::var(format!("DHP_{}", key.to_ascii_uppercase())).ok().filter(|v| !v.is_empty()) {
                values.insert(key, v);
            }
        }
        let path = config
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("DHP_CONFIG").map(PathBuf::from))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/dhp/config")));
        if let Some(path) = path {
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    for (key, value) in parse_config(&text).map_err(|e| format!("{}: {e}", path.display()))? {
                        values.entry(key).or_insert(value);
                    }
                }
                Err(e) if config.is_some() => return Err(format!("{}: {e}", path.display())),
                Err(_) => {}
            }
        }
        Ok(Settings { values })
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// A client for these settings.
    pub fn client(&self) -> Result<FhirClient, String> {
        let fhir = self.get("fhir_url").ok_or("no server: set DHP_FHIR_URL or fhir_url in the config file")?;
        let sso = self.get("sso_url").unwrap_or(fhir);
        let mut endpoints = Endpoints::custom(fhir, sso);
        if let Some(t) = self.get("token_url") {
            endpoints = endpoints.with_token_url(t);
        }
        let mut builder = FhirClient::builder(endpoints).user_agent(concat!("dhp-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(token) = self.get("bearer_token") {
            builder = builder.bearer_token(Secret::new(token));
        } else if let (Some(id), Some(secret)) = (self.get("client_id"), self.get("client_secret")) {
            let mut creds = ClientCredentials::new(id, Secret::new(secret));
            if let Some(scope) = self.get("scope") {
                creds = creds.scope(scope);
            }
            builder = builder.client_credentials(creds);
        }
        builder.build().map_err(|e| e.to_string())
    }
}

/// `key = value` lines; `#` comments and blank lines are skipped.
pub fn parse_config(text: &str) -> Result<Vec<(&'static str, String)>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line.split_once('=').ok_or_else(|| format!("line {}: expected `key = value`", n + 1))?;
        let k = k.trim();
        let key = KEYS.iter().find(|x| **x == k).ok_or_else(|| format!("line {}: unknown key `{k}` (known: {})", n + 1, KEYS.join(", ")))?;
        out.push((*key, v.trim().trim_matches('"').to_string()));
    }
    Ok(out)
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// `dhp get <Type>/<id>`: prints the resource's JSON.
pub fn get(settings: &Settings, reference: &str) -> Result<String, String> {
    let (rt, id) = reference.split_once('/').ok_or_else(|| format!("`{reference}`: expected <Type>/<id>"))?;
    let client = settings.client()?;
    let json = runtime()?.block_on(client.read_json(rt, id)).map_err(|e| e.to_string())?;
    Ok(json.to_json_string_pretty())
}

/// `dhp search <Type> [name=value…]`: prints the result Bundle's JSON (first page).
pub fn search(settings: &Settings, resource_type: &str, params: &[String]) -> Result<String, String> {
    let mut p = SearchParams::new();
    for param in params {
        let (k, v) = param.split_once('=').ok_or_else(|| format!("`{param}`: expected name=value"))?;
        p = p.param(k, v);
    }
    let client = settings.client()?;
    let bundle = runtime()?.block_on(client.search_json(resource_type, &p)).map_err(|e| e.to_string())?;
    Ok(JsonValue::Object(bundle.into_json()).to_json_string_pretty())
}

/// `dhp push <file>`: POSTs a resource (or a transaction/batch Bundle to the base) and
/// prints the server's answer.
pub fn push(settings: &Settings, text: &str) -> Result<String, String> {
    let json = JsonValue::parse(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = json.as_object().ok_or("not a JSON object")?;
    let rt = obj.get("resourceType").and_then(|t| t.as_str()).ok_or("no resourceType")?.to_string();
    let is_tx = rt == "Bundle" && matches!(obj.get("type").and_then(|t| t.as_str()), Some("transaction" | "batch"));
    let path = if is_tx { String::new() } else { rt };
    let client = settings.client()?;
    let response = runtime()?.block_on(client.request(Method::POST, &path).json(&json).send()).map_err(|e| e.to_string())?;
    let location = response.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or("");
    let body = response.body.map(|b| b.to_json_string_pretty()).unwrap_or_default();
    Ok(format!("HTTP {} {location}\n{body}", response.status).trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::parse_config;

    #[test]
    fn config_file_lines() {
        let parsed = parse_config("# dhp\nfhir_url = https://x/fhir\n\nclient_secret = \"s3\"\n").expect("valid");
        assert_eq!(parsed, vec![("fhir_url", "https://x/fhir".to_string()), ("client_secret", "s3".to_string())]);
        assert!(parse_config("password = x").is_err());
        assert!(parse_config("fhir_url").is_err());
    }
}
