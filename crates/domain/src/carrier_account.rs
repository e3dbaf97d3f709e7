//! Carrier accounts: the seller's contracts with a carrier, many per carrier (per warehouse, per lane), each
//! with its endpoint and credentials. Channels name the account they book through.

use std::collections::BTreeMap;

use crate::{CarrierAccountCode, CarrierCode, FieldErrors};

/// The carriers codflow has a connector for, by the code channels and mappings use.
pub const CARRIERS: [&str; 10] =
    ["sandbox", "aramex", "4px", "ninjavan", "smsa", "flash", "yunexpress", "jnt", "naqel", "yanwen"];
/// The tracking aggregators codflow follows parcels through, whatever their carrier.
pub const TRACKING_SOURCES: [&str; 2] = ["17track", "aftership"];
/// The kinds that push events to `/api/v1/webhooks/carriers/{kind}`, verified with the account's webhook secret.
pub const PUSHING: [&str; 5] = ["sandbox", "ninjavan", "jnt", "17track", "aftership"];
/// The payment platforms whose statements codflow reads through their APIs.
pub const PAYMENT_PLATFORMS: [&str; 1] = ["lianlian"];

/// What follows parcels: the carriers, then the tracking sources.
pub fn tracking_kinds() -> impl Iterator<Item = &'static str> {
    CARRIERS.into_iter().chain(TRACKING_SOURCES)
}

/// Every kind of account: the carriers, then the tracking sources, then the payment platforms.
pub fn account_kinds() -> impl Iterator<Item = &'static str> {
    CARRIERS.into_iter().chain(TRACKING_SOURCES).chain(PAYMENT_PLATFORMS)
}

/// One credential a carrier's API needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialField {
    pub name: &'static str,
    pub required: bool,
    /// A secret (typed unseen in the console); an identifier such as an account number is shown as typed.
    pub secret: bool,
}

/// A required secret.
const fn req(name: &'static str) -> CredentialField {
    CredentialField { name, required: true, secret: true }
}
/// A required identifier.
const fn id(name: &'static str) -> CredentialField {
    CredentialField { name, required: true, secret: false }
}
/// An optional identifier.
const fn opt_id(name: &'static str) -> CredentialField {
    CredentialField { name, required: false, secret: false }
}
/// An optional secret.
const fn opt(name: &'static str) -> CredentialField {
    CredentialField { name, required: false, secret: true }
}

/// The credentials each carrier takes; None for a carrier codflow has no connector for.
pub fn credential_fields(carrier: &str) -> Option<&'static [CredentialField]> {
    const SANDBOX: &[CredentialField] = &[opt("api_key")];
    const ARAMEX: &[CredentialField] = &[
        id("user_name"),
        req("password"),
        id("account_number"),
        req("account_pin"),
        id("account_entity"),
        id("account_country_code"),
        // Where Aramex collects this account's parcels (CreatePickup); pickups are refused without it.
        opt_id("pickup_contact"),
        opt_id("pickup_phone"),
        opt_id("pickup_address"),
        opt_id("pickup_city"),
        opt_id("pickup_postcode"),
    ];
    // The pickup point is where 4PX collects the account's bags (a warehouse in codflow has no address).
    const FOURPX: &[CredentialField] = &[
        id("app_key"),
        req("app_secret"),
        opt("access_token"),
        opt_id("pickup_name"),
        opt_id("pickup_phone"),
        opt_id("pickup_province"),
        opt_id("pickup_city"),
        opt_id("pickup_district"),
        opt_id("pickup_address"),
        opt_id("pickup_zip"),
    ];
    // `country` picks the Ninja Van system (sg, my, th, id, vn, ph) the account belongs to.
    const NINJAVAN: &[CredentialField] = &[id("client_id"), req("client_secret"), id("country")];
    const SMSA: &[CredentialField] = &[req("api_key")];
    const TRACK17: &[CredentialField] = &[req("api_token")];
    const AFTERSHIP: &[CredentialField] = &[req("api_key")];
    const FLASH: &[CredentialField] = &[id("mch_id"), req("secret")];
    const YUNEXPRESS: &[CredentialField] = &[id("customer_code"), req("api_secret")];
    // `country` picks the J&T tenant (my, ph, id, th, vn, sg): its currency for cash and its clock. J&T wants
    // the sender's phone, address and postcode on every order; a warehouse in codflow has none, so the account
    // (one per pickup point) carries them.
    // `origin_city_code` is Naqel's code of the pickup city; `city_codes` maps more consignee cities (Name=CODE;…).
    const NAQEL: &[CredentialField] = &[
        id("client_id"),
        req("password"),
        opt_id("version"),
        id("origin_city_code"),
        opt_id("sender_phone"),
        opt_id("sender_address"),
        opt_id("city_codes"),
    ];
    // `channel_id` is the Yanwen product the account books on; `tracking_url` the track API's host when apart.
    const YANWEN: &[CredentialField] = &[id("user_id"), req("api_token"), id("channel_id"), opt_id("tracking_url")];
    // The seller's PKCS#8 private key signs requests; LianLian's X.509 public key checks its replies.
    const LIANLIAN: &[CredentialField] = &[req("token"), req("private_key"), id("lianlian_public_key")];
    const JNT: &[CredentialField] = &[
        id("api_account"),
        req("private_key"),
        id("customer_code"),
        req("password"),
        id("country"),
        opt_id("sender_phone"),
        opt_id("sender_address"),
        opt_id("sender_postcode"),
    ];
    match carrier {
        "sandbox" => Some(SANDBOX),
        "aramex" => Some(ARAMEX),
        "4px" => Some(FOURPX),
        "ninjavan" => Some(NINJAVAN),
        "smsa" => Some(SMSA),
        "17track" => Some(TRACK17),
        "aftership" => Some(AFTERSHIP),
        "flash" => Some(FLASH),
        "yunexpress" => Some(YUNEXPRESS),
        "jnt" => Some(JNT),
        "lianlian" => Some(LIANLIAN),
        "naqel" => Some(NAQEL),
        "yanwen" => Some(YANWEN),
        _ => None,
    }
}

/// Whether an account talks to the carrier's test system or books real parcels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Test,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Test => "test",
            Environment::Production => "production",
        }
    }
    pub fn parse(s: &str) -> Option<Environment> {
        match s {
            "test" => Some(Environment::Test),
            "production" => Some(Environment::Production),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarrierAccount {
    pub code: CarrierAccountCode,
    pub carrier: CarrierCode,
    pub name: String,
    pub environment: Environment,
    /// The API's address for this environment, e.g. `https://open.4px.com`.
    pub base_url: String,
}

/// An account as written to the API or the console; on an update, what is left out keeps its value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CarrierAccountInput {
    pub code: Option<String>,
    pub carrier: Option<String>,
    pub name: Option<String>,
    pub environment: Option<String>,
    pub base_url: Option<String>,
    /// Given whole or not at all: a partial set is refused, so a half-changed login never books.
    pub credentials: Option<BTreeMap<String, String>>,
    pub webhook_secret: Option<String>,
}

/// A checked change: the account, and the secrets to seal when they were given.
#[derive(Debug)]
pub struct CarrierAccountChange {
    pub account: CarrierAccount,
    pub credentials: Option<BTreeMap<String, String>>,
    pub webhook_secret: Option<String>,
}

fn url(e: &mut FieldErrors, s: &str) -> Option<String> {
    let s = s.trim();
    let ok = (s.starts_with("https://") || s.starts_with("http://"))
        && s.len() <= 300
        && s.len() > "http://".len()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        e.push("base_url", "an http(s) address of at most 300 characters, without spaces");
        return None;
    }
    let authority = s.split_once("://").map_or("", |(_, rest)| rest).split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        e.push("base_url", "no user or password in the address: credentials go in the account's credentials");
        return None;
    }
    // The server calls this address with the account's credentials: never a cloud metadata or link-local host.
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    }
    .to_ascii_lowercase();
    let forbidden = host.starts_with("169.254.")
        || host.starts_with("fe80:")
        || host == "0.0.0.0"
        || host == "::"
        || host == "metadata.google.internal"
        || host.is_empty();
    if forbidden {
        e.push("base_url", format!("{host:?} is a link-local or metadata address, not a carrier's"));
        return None;
    }
    Some(s.trim_end_matches('/').to_owned())
}

impl CarrierAccountInput {
    /// Checks the input against the account it changes (`existing`, with whether it holds credentials).
    pub fn validate(
        self,
        path_code: Option<&str>,
        existing: Option<(&CarrierAccount, bool)>,
    ) -> Result<CarrierAccountChange, FieldErrors> {
        let mut e = FieldErrors::default();
        if let (Some(p), Some(c)) = (path_code, self.code.as_deref())
            && p != c
        {
            e.push("code", format!("the body names {c:?} but the address names {p:?}"));
        }
        let code_text = path_code.map(str::to_owned).or(self.code.clone()).unwrap_or_default();
        let code = e.take("code", CarrierAccountCode::parse(code_text.trim()));
        let old = existing.map(|(a, _)| a);
        let carrier_text = self.carrier.clone().or_else(|| old.map(|a| a.carrier.to_string())).unwrap_or_default();
        if let (Some(o), Some(c)) = (old, self.carrier.as_deref())
            && o.carrier.as_str() != c
        {
            e.push("carrier", "an account's carrier cannot change; make a new account");
        }
        let fields = credential_fields(&carrier_text);
        if fields.is_none() {
            let known: Vec<&str> = account_kinds().collect();
            e.push("carrier", format!("unknown carrier {carrier_text:?} (one of {})", known.join(", ")));
        }
        let carrier = CarrierCode::parse(&carrier_text).ok();
        let name = match self.name.clone().or_else(|| old.map(|a| a.name.clone())) {
            Some(n) if !n.trim().is_empty() && n.chars().count() <= 120 && !n.chars().any(char::is_control) => {
                Some(n.trim().to_owned())
            }
            _ => {
                e.push("name", "1 to 120 characters");
                None
            }
        };
        let environment = match self.environment.as_deref() {
            Some(s) => Environment::parse(s).or_else(|| {
                e.push("environment", "test or production");
                None
            }),
            None => Some(old.map_or(Environment::Test, |a| a.environment)),
        };
        let base_url = match self.base_url.as_deref().or(old.map(|a| a.base_url.as_str())) {
            Some(u) => url(&mut e, u),
            None => {
                e.push("base_url", "required: the carrier API's address for this account");
                None
            }
        };
        if environment == Some(Environment::Production) && base_url.as_deref().is_some_and(|u| u.starts_with("http://"))
        {
            e.push("base_url", "a production account talks to its carrier over https");
        }
        if let (Some(creds), Some(fields)) = (&self.credentials, fields) {
            for k in creds.keys() {
                if !fields.iter().any(|f| f.name == k) {
                    let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
                    e.push(
                        format!("credentials.{k}"),
                        format!("not a {carrier_text} credential ({})", names.join(", ")),
                    );
                }
            }
            for f in fields.iter().filter(|f| f.required) {
                if creds.get(f.name).is_none_or(|v| v.trim().is_empty()) {
                    e.push(format!("credentials.{}", f.name), "required");
                }
            }
            for (k, v) in creds {
                // Keys come as PEM: line breaks allowed there, and the length of a 4096-bit RSA key.
                let pem = k.ends_with("_key") && v.trim_start().starts_with("-----BEGIN ");
                let (max, ok) = if pem {
                    (8000, v.chars().all(|c| !c.is_control() || c == '\n' || c == '\r'))
                } else {
                    (2000, !v.chars().any(char::is_control))
                };
                if v.len() > max || !ok {
                    e.push(format!("credentials.{k}"), format!("at most {max} characters, no control characters"));
                }
            }
        } else if let Some(fields) = fields
            && !existing.is_some_and(|(_, has)| has)
            && fields.iter().any(|f| f.required)
        {
            e.push("credentials", format!("required for {carrier_text}"));
        }
        if let Some(s) = &self.webhook_secret
            && (s.trim().is_empty() || s.len() > 500)
        {
            e.push("webhook_secret", "1 to 500 characters");
        }
        match (code, carrier, name, environment, base_url) {
            (Some(code), Some(carrier), Some(name), Some(environment), Some(base_url)) if e.is_empty() => {
                Ok(CarrierAccountChange {
                    account: CarrierAccount { code, carrier, name, environment, base_url },
                    credentials: self.credentials,
                    webhook_secret: self.webhook_secret,
                })
            }
            _ => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fourpx() -> CarrierAccountInput {
        CarrierAccountInput {
            code: Some("4px-sz".into()),
            carrier: Some("4px".into()),
            name: Some("4PX Shenzhen".into()),
            environment: None,
            base_url: Some("https://open-test.4px.com/".into()),
            credentials: Some(BTreeMap::from([("app_key".into(), "k".into()), ("app_secret".into(), "s".into())])),
            webhook_secret: None,
        }
    }

    #[test]
    fn a_new_account_needs_its_carriers_required_credentials_and_defaults_to_test() {
        let c = fourpx().validate(None, None).unwrap();
        assert_eq!(c.account.environment, Environment::Test);
        assert_eq!(c.account.base_url, "https://open-test.4px.com");
        let mut missing = fourpx();
        missing.credentials = Some(BTreeMap::from([("app_key".into(), "k".into()), ("token".into(), "x".into())]));
        let e = missing.validate(None, None).unwrap_err();
        let paths: Vec<&str> = e.0.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["credentials.token", "credentials.app_secret"]);
    }

    #[test]
    fn addresses_with_credentials_link_local_hosts_or_cleartext_production_are_refused() {
        for bad in [
            "https://user:pw@open.4px.com",
            "http://169.254.169.254/latest/meta-data",
            "http://[fe80::1]:8080/x",
            "http://0.0.0.0:9090",
            "http://metadata.google.internal/computeMetadata",
            "https://",
        ] {
            let mut a = fourpx();
            a.base_url = Some(bad.into());
            let e = a.validate(None, None).unwrap_err();
            assert_eq!(e.0[0].path, "base_url", "{bad}");
        }
        let mut prod = fourpx();
        prod.environment = Some("production".into());
        prod.base_url = Some("http://open.4px.com".into());
        assert_eq!(prod.clone().validate(None, None).unwrap_err().0[0].path, "base_url");
        prod.base_url = Some("https://open.4px.com:443/router".into());
        assert!(prod.validate(None, None).is_ok());
        let mut local = fourpx();
        local.base_url = Some("http://127.0.0.1:9090/4px".into());
        assert!(local.validate(None, None).is_ok(), "a test account may talk to a local server");
    }

    #[test]
    fn an_update_keeps_what_it_leaves_out_and_cannot_change_the_carrier() {
        let old = fourpx().validate(None, None).unwrap().account;
        let kept = CarrierAccountInput { name: Some("4PX SZ".into()), ..Default::default() }
            .validate(Some("4px-sz"), Some((&old, true)))
            .unwrap();
        assert_eq!(kept.account.base_url, old.base_url);
        assert!(kept.credentials.is_none());
        let e = CarrierAccountInput { carrier: Some("aramex".into()), ..Default::default() }
            .validate(Some("4px-sz"), Some((&old, true)))
            .unwrap_err();
        assert_eq!(e.0[0].path, "carrier");
    }

    #[test]
    fn unknown_carriers_and_bad_addresses_are_refused_by_field() {
        let e = CarrierAccountInput { carrier: Some("dhl".into()), base_url: Some("ftp://x".into()), ..fourpx() }
            .validate(None, None)
            .unwrap_err();
        let paths: Vec<&str> = e.0.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["carrier", "base_url"]);
    }
}
