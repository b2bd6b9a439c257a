//! Catalogue files: one TOML file per treatment region (`data/catalogue/<region>.toml`).
//!
//! ```toml
//! region = "440000"
//! name = "广东省 treatment-place catalogue"
//! version = "2026.11"
//! [items.XN02BEA123A001010101234]
//! name = "对乙酰氨基酚片"
//! class = "A"
//! price_cap = "12.50"
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Deserialize;
use yidi_domain::catalogue::Catalogue;
use yidi_domain::ids::RegionCode;

use crate::dto::{decimal, region, CatalogueDto, ItemDto};
use crate::error::{from_toml, FormatError};
use crate::path::FieldPath;
use crate::scalar::Scalar;

#[derive(Debug, Deserialize)]
struct CatalogueFileDto<'a> {
    #[serde(borrow)]
    region: Scalar<'a>,
    #[serde(default)]
    name: Option<String>,
    version: String,
    #[serde(borrow)]
    items: BTreeMap<Cow<'a, str>, ItemDto<'a>>,
}

/// A treatment region's catalogue, with what people and simulators need beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreatmentCatalogue {
    pub region: RegionCode,
    pub name: String,
    pub catalogue: Catalogue,
    /// Item names by code.
    pub item_names: BTreeMap<String, String>,
    /// Usual unit prices by code (not every item has one).
    pub typical_prices: BTreeMap<String, Decimal>,
}

/// Reads a catalogue file's text.
pub fn parse_catalogue_file(text: &str) -> Result<TreatmentCatalogue, FormatError> {
    let dto: CatalogueFileDto = from_toml(text)?;
    let root = FieldPath::ROOT;
    let region_code = region(&dto.region, &root.field("region"))?;
    let dto_catalogue = CatalogueDto { items: dto.items };
    let mut catalogue = dto_catalogue.to_catalogue(&root)?;
    catalogue.version = format!("{}/{}+{}", region_code, dto.version, catalogue.fingerprint());
    let mut item_names = BTreeMap::new();
    let mut typical_prices = BTreeMap::new();
    let items_path = root.field("items");
    for (code, item) in &dto_catalogue.items {
        if let Some(name) = &item.name {
            item_names.insert(code.to_string(), name.to_string());
        }
        if let Some(price) = &item.typical_price {
            let item_path = items_path.field(code);
            let value = decimal(price, &item_path.field("typical_price"))?;
            typical_prices.insert(code.to_string(), value);
        }
    }
    Ok(TreatmentCatalogue {
        region: region_code,
        name: dto.name.unwrap_or_default(),
        catalogue,
        item_names,
        typical_prices,
    })
}
