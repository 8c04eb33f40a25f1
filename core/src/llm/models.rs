//! The Bedrock model catalog (`core/data/models.json`): aliases, ids, prices, prompt caching, context size.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Prices in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    pub input: f64,
    pub output: f64,
    /// Tokens read from the prompt cache (instead of `input`).
    pub cache_read: f64,
    /// Tokens written to the prompt cache (instead of `input`).
    pub cache_write: f64,
    /// The day the prices were read off the provider's price list.
    pub priced_on: &'static str,
}

/// One catalog entry.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelInfo {
    pub id: String,
    pub aliases: Vec<String>,
    pub name: String,
    input: f64,
    output: f64,
    cache_read: f64,
    cache_write: f64,
    pub prompt_caching: bool,
    pub max_context: u32,
}

impl ModelInfo {
    pub fn pricing(&self) -> Pricing {
        Pricing {
            input: self.input,
            output: self.output,
            cache_read: self.cache_read,
            cache_write: self.cache_write,
            priced_on: catalog().priced_on,
        }
    }
}

struct Catalog {
    priced_on: &'static str,
    models: Vec<ModelInfo>,
}

#[derive(Deserialize)]
struct CatalogFile {
    priced_on: String,
    models: Vec<ModelInfo>,
}

fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| {
        // The file is part of the crate and checked by a unit test, so a parse failure is a build defect.
        let file: CatalogFile = serde_json::from_str(include_str!("../../data/models.json"))
            .unwrap_or(CatalogFile {
                priced_on: String::new(),
                models: Vec::new(),
            });
        Catalog {
            priced_on: Box::leak(file.priced_on.into_boxed_str()),
            models: file.models,
        }
    })
}

/// All catalog entries.
pub fn all() -> &'static [ModelInfo] {
    &catalog().models
}

/// The model id for `name` (an alias such as `sonnet`, or any id, which is returned as given) and its catalog
/// entry when known. Cross-region inference profiles (`us.`, `eu.`, `apac.`, `global.` prefixes) keep their id
/// and are priced as their base model.
pub fn resolve(name: &str) -> Result<(String, Option<&'static ModelInfo>)> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Config("empty model name".into()));
    }
    let lower = name.to_ascii_lowercase();
    if let Some(m) = all().iter().find(|m| m.aliases.contains(&lower)) {
        return Ok((m.id.clone(), Some(m)));
    }
    let base = ["us.", "eu.", "apac.", "global.", "us-gov."]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name);
    let info = all().iter().find(|m| m.id == base);
    if info.is_none() && !name.contains('.') && !name.contains(':') {
        let aliases: Vec<&str> = all()
            .iter()
            .flat_map(|m| m.aliases.iter().map(String::as_str))
            .collect();
        return Err(Error::Config(format!(
            "unknown model alias `{name}`; use one of {} or a full Bedrock model id",
            aliases.join(", ")
        )));
    }
    Ok((name.to_string(), info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_parses_and_resolves() {
        assert!(all().len() >= 14);
        assert_eq!(catalog().priced_on, "2025-06-01");
        let (id, info) = resolve("sonnet").unwrap();
        assert_eq!(id, "anthropic.claude-3-sonnet-20240229-v1:0");
        assert_eq!(info.unwrap().pricing().input, 3.0);
        let (id, info) = resolve("us.anthropic.claude-sonnet-4-20250514-v1:0").unwrap();
        assert_eq!(id, "us.anthropic.claude-sonnet-4-20250514-v1:0");
        assert!(info.unwrap().prompt_caching);
        let (id, info) = resolve("cohere.command-r-v1:0").unwrap();
        assert_eq!(id, "cohere.command-r-v1:0");
        assert!(info.is_none());
        assert!(resolve("sonet").is_err());
        for m in all() {
            assert!(m.input > 0.0 && m.output >= m.input, "{}", m.id);
        }
    }
}
