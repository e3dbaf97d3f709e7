//! The seller's shops on sales platforms: which platform, where it lives, what it needs to be talked to.

use std::collections::BTreeMap;

use crate::{Error, FieldErrors, ShopCode, WarehouseCode};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Orders keyed in or imported by hand; nothing to tell back.
    Manual,
    Shopify,
    WooCommerce,
    /// Magento 2 / Adobe Commerce, pulled through its REST API.
    Magento,
    /// Amazon Seller Partner API, merchant-fulfilled orders, pulled.
    Amazon,
    /// eBay Sell Fulfillment API, pulled.
    Ebay,
}

impl Platform {
    pub fn as_str(&self) -> &'static str {
        match self {
            Platform::Manual => "manual",
            Platform::Shopify => "shopify",
            Platform::WooCommerce => "woocommerce",
            Platform::Magento => "magento",
            Platform::Amazon => "amazon",
            Platform::Ebay => "ebay",
        }
    }

    pub const ALL: [Platform; 6] = [
        Platform::Manual,
        Platform::Shopify,
        Platform::WooCommerce,
        Platform::Magento,
        Platform::Amazon,
        Platform::Ebay,
    ];

    pub fn parse(s: &str) -> Result<Platform, Error> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            Error::invalid(
                "platform",
                format!("{s:?} is not one of manual, shopify, woocommerce, magento, amazon, ebay"),
            )
        })
    }

    /// The credential fields the platform's API needs.
    pub fn credential_fields(&self) -> &'static [&'static str] {
        match self {
            Platform::Manual => &[],
            Platform::Shopify => &["access_token"],
            Platform::WooCommerce => &["consumer_key", "consumer_secret"],
            Platform::Magento => &["access_token"],
            // Login with Amazon exchanges the refresh token for the short-lived access token each call needs.
            Platform::Amazon => &["refresh_token", "client_id", "client_secret", "marketplace_id"],
            Platform::Ebay => &["refresh_token", "client_id", "client_secret"],
        }
    }

    /// Credential fields a store may give but need not.
    pub fn optional_credential_fields(&self) -> &'static [&'static str] {
        match self {
            // Where the OAuth token exchange lives, for a regional or test endpoint.
            Platform::Amazon | Platform::Ebay => &["token_url"],
            // Which Shopify location stock levels are pushed to (default: the shop's first active one).
            Platform::Shopify => &["location_id"],
            _ => &[],
        }
    }

    /// Whether codflow tells this platform about parcels (shipped, delivered).
    pub fn pushes_fulfilment(&self) -> bool {
        matches!(self, Platform::Shopify | Platform::WooCommerce)
    }

    /// Whether the platform signs webhooks codflow receives.
    pub fn has_webhooks(&self) -> bool {
        matches!(self, Platform::Shopify | Platform::WooCommerce)
    }

    /// Gateway names that mean cash on delivery when a platform order arrives.
    pub fn default_cod_gateways(&self) -> Vec<String> {
        let names: &[&str] = match self {
            Platform::Manual => &[],
            Platform::Shopify => &["Cash on Delivery (COD)", "cash_on_delivery"],
            Platform::WooCommerce => &["cod"],
            Platform::Magento => &["cashondelivery"],
            Platform::Amazon => &["COD"],
            Platform::Ebay => &[],
        };
        names.iter().map(|s| (*s).to_owned()).collect()
    }
}

/// A shop as the seller describes it. Secrets travel in and are never given back.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopInput {
    pub code: Option<String>,
    pub platform: Option<String>,
    pub name: Option<String>,
    pub base_url: Option<String>,
    /// Replaces the stored credentials when given; absent keeps them.
    pub credentials: Option<BTreeMap<String, String>>,
    pub webhook_secret: Option<String>,
    pub cod_gateways: Option<Vec<String>>,
    pub default_warehouse: Option<String>,
    /// Tell the shop when a parcel ships and when it is delivered (default true for platforms that can).
    pub push_fulfilment: Option<bool>,
    pub enabled: Option<bool>,
}

/// A shop's settings without its secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopConfig {
    pub code: ShopCode,
    pub platform: Platform,
    pub name: String,
    pub base_url: Option<String>,
    pub cod_gateways: Vec<String>,
    pub default_warehouse: Option<WarehouseCode>,
    pub push_fulfilment: bool,
    pub enabled: bool,
}

/// A validated input: the settings, and the secrets to seal when they were given.
#[derive(Clone, Debug)]
pub struct ShopChange {
    pub config: ShopConfig,
    pub credentials: Option<BTreeMap<String, String>>,
    pub webhook_secret: Option<String>,
}

fn text(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl ShopInput {
    /// `code` comes from the path on update (`existing` then holds what is stored); every problem is reported
    /// at once. `has_credentials` says whether the stored shop already has credentials.
    pub fn validate(
        self,
        code: Option<&str>,
        existing: Option<&ShopConfig>,
        has_credentials: bool,
    ) -> Result<ShopChange, FieldErrors> {
        let mut e = FieldErrors::default();
        let code = match (code, text(self.code.clone())) {
            (Some(path), Some(body)) if path != body => {
                e.push("code", format!("{body:?} differs from the store in the path ({path:?})"));
                None
            }
            (Some(c), _) => e.take("code", ShopCode::parse(c)),
            (None, Some(c)) => e.take("code", ShopCode::parse(&c)),
            (None, None) => {
                e.push("code", "required");
                None
            }
        };
        let platform = match text(self.platform) {
            Some(p) => e.take("platform", Platform::parse(&p)),
            None => match existing {
                Some(x) => Some(x.platform),
                None => {
                    e.push("platform", "required: manual, shopify, woocommerce, magento, amazon or ebay");
                    None
                }
            },
        };
        let name = text(self.name).or_else(|| existing.map(|x| x.name.clone()));
        if name.as_ref().is_none_or(|n| n.chars().count() > 200) {
            e.push("name", "required, at most 200 characters");
        }
        let base_url = match text(self.base_url) {
            Some(u) => {
                let ok = (u.starts_with("https://") || u.starts_with("http://"))
                    && u.len() <= 500
                    && !u.contains(char::is_whitespace)
                    && u.split("://").nth(1).is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
                if !ok {
                    e.push("base_url", format!("{u:?} is not an http(s) URL such as https://myshop.myshopify.com"));
                }
                Some(u.trim_end_matches('/').to_owned())
            }
            None => existing.and_then(|x| x.base_url.clone()),
        };
        let credentials = self.credentials;
        if let (Some(p), Some(c)) = (platform, &credentials) {
            for k in c.keys() {
                if !p.credential_fields().contains(&k.as_str()) && !p.optional_credential_fields().contains(&k.as_str())
                {
                    e.push(
                        format!("credentials.{k}"),
                        format!("not a {} credential (expected {})", p.as_str(), p.credential_fields().join(", ")),
                    );
                }
            }
            for k in p.credential_fields() {
                if c.get(*k).is_none_or(|v| v.trim().is_empty()) {
                    e.push(format!("credentials.{k}"), "required");
                }
            }
        }
        let cod_gateways = match self.cod_gateways {
            Some(g) => {
                let g: Vec<String> = g.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
                if g.len() > 50 || g.iter().any(|s| s.len() > 100) {
                    e.push("cod_gateways", "at most 50 names of at most 100 characters");
                }
                Some(g)
            }
            None => existing.map(|x| x.cod_gateways.clone()),
        };
        let default_warehouse = match text(self.default_warehouse) {
            Some(w) => e.take("default_warehouse", WarehouseCode::parse(&w)),
            None => existing.and_then(|x| x.default_warehouse.clone()),
        };
        let webhook_secret = text(self.webhook_secret);
        if webhook_secret.as_ref().is_some_and(|s| s.len() < 16) {
            e.push("webhook_secret", "at least 16 characters");
        }
        if let Some(p) = platform
            && p != Platform::Manual
        {
            if base_url.is_none() {
                e.push("base_url", format!("required for a {} store", p.as_str()));
            }
            // A shop that only sends webhooks needs no credentials; one that is pulled or told about parcels
            // does.
            let pushes = p.pushes_fulfilment()
                && self.push_fulfilment.unwrap_or_else(|| existing.is_none_or(|x| x.push_fulfilment));
            let receives_only = webhook_secret.is_some() && !pushes;
            if credentials.is_none() && !has_credentials && !receives_only {
                e.push("credentials", format!("required: {}", p.credential_fields().join(", ")));
            }
        }
        let (Some(code), Some(platform), Some(name)) = (code, platform, name) else { return Err(e) };
        if !e.is_empty() {
            return Err(e);
        }
        let push_fulfilment = platform.pushes_fulfilment()
            && self.push_fulfilment.unwrap_or_else(|| existing.is_none_or(|x| x.push_fulfilment));
        Ok(ShopChange {
            config: ShopConfig {
                code,
                cod_gateways: cod_gateways.unwrap_or_else(|| platform.default_cod_gateways()),
                platform,
                name,
                base_url,
                default_warehouse,
                push_fulfilment,
                enabled: self.enabled.unwrap_or_else(|| existing.is_none_or(|x| x.enabled)),
            },
            credentials,
            webhook_secret,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(platform: &str) -> ShopInput {
        ShopInput {
            code: Some("shop-sa".into()),
            platform: Some(platform.into()),
            name: Some("Saudi shop".into()),
            base_url: Some("https://shop-sa.myshopify.com/".into()),
            credentials: Some([("access_token".to_owned(), "shpat_x".to_owned())].into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_shopify_store_gets_the_default_cod_gateways_and_pushes_fulfilments() {
        let c = input("shopify").validate(None, None, false).unwrap();
        assert_eq!(c.config.base_url.as_deref(), Some("https://shop-sa.myshopify.com"));
        assert!(c.config.cod_gateways.contains(&"cash_on_delivery".to_owned()));
        assert!(c.config.push_fulfilment && c.config.enabled);
    }

    #[test]
    fn wrong_or_missing_credentials_are_reported_by_field() {
        let e = input("woocommerce").validate(None, None, false).unwrap_err();
        let paths: Vec<&str> = e.0.iter().map(|f| f.path.as_str()).collect();
        assert!(paths.contains(&"credentials.access_token"), "{paths:?}");
        assert!(paths.contains(&"credentials.consumer_key"), "{paths:?}");
        assert!(paths.contains(&"credentials.consumer_secret"), "{paths:?}");
    }

    #[test]
    fn an_update_keeps_what_it_does_not_name() {
        let first = input("shopify").validate(None, None, false).unwrap().config;
        let upd = ShopInput { name: Some("Renamed".into()), ..Default::default() };
        let c = upd.validate(Some("shop-sa"), Some(&first), true).unwrap();
        assert_eq!(c.config.name, "Renamed");
        assert_eq!(c.config.base_url, first.base_url);
        assert!(c.credentials.is_none());
    }

    #[test]
    fn a_code_in_the_body_must_match_the_path() {
        let e = input("shopify").validate(Some("other"), None, false).unwrap_err();
        assert_eq!(e.0[0].path, "code");
    }
}
