//! The shared readable shapes of a policy and a catalogue, as `settlement.md` names them.
//!
//! A quote case's `policy` and a policy file's `[schemes.<code>]` table are the same shape,
//! and so are a case's `catalogue` and a catalogue file, so one conversion serves both.
//! Text is borrowed from the document where it can be.

use std::borrow::Cow;
use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Deserialize;
use yidi_domain::catalogue::{Catalogue, CatalogueItem, ItemClass, UnitPrice};
use yidi_domain::error::ValueError;
use yidi_domain::ids::{HospitalLevel, RegionCode, Scheme};
use yidi_domain::money::{Amount, Ratio};
use yidi_domain::policy::{
    bands_rise, AdjustmentMode, Band, CatastrophicTerms, CrossProvince, Layer, LevelTerms, Policy,
    TierTerms,
};

use crate::error::FormatError;
use crate::path::FieldPath;
use crate::scalar::Scalar;

#[derive(Debug, Deserialize)]
pub struct DeductibleDto<'a> {
    #[serde(borrow)]
    pub first: Scalar<'a>,
    #[serde(borrow)]
    pub repeat: Scalar<'a>,
}

#[derive(Debug, Deserialize)]
pub struct LayerDto<'a> {
    #[serde(borrow)]
    pub ratio: Scalar<'a>,
    #[serde(borrow)]
    pub cap: Scalar<'a>,
    /// Catastrophic layer only: measured on the year's self-borne in-scope expense above this.
    #[serde(default, borrow)]
    pub threshold: Option<Scalar<'a>>,
    /// Catastrophic layer only, with a threshold: higher ratios from amounts of that total.
    #[serde(default, borrow)]
    pub bands: Option<Vec<BandDto<'a>>>,
    /// Catastrophic layer only: paid only to persons who paid its contribution.
    #[serde(default)]
    pub contributory: bool,
}

/// A band of a segmented ratio: from `from` on, `ratio`.
#[derive(Debug, Deserialize)]
pub struct BandDto<'a> {
    #[serde(borrow)]
    pub from: Scalar<'a>,
    #[serde(borrow)]
    pub ratio: Scalar<'a>,
}

/// A resident contribution tier's ratios by level and yearly cap.
#[derive(Debug, Deserialize)]
pub struct TierDto<'a> {
    #[serde(borrow)]
    pub ratio: BTreeMap<Cow<'a, str>, Scalar<'a>>,
    #[serde(borrow)]
    pub annual_cap: Scalar<'a>,
}

#[derive(Debug, Deserialize)]
pub struct CrossProvinceDto<'a> {
    /// `points` (the default, as in `settlement.md`) or `multiplier`.
    #[serde(default, borrow)]
    pub mode: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub long_term: Scalar<'a>,
    #[serde(borrow)]
    pub referral: Scalar<'a>,
    #[serde(borrow)]
    pub emergency: Scalar<'a>,
    #[serde(borrow)]
    pub other_temporary: Scalar<'a>,
    #[serde(borrow)]
    pub unfiled: Scalar<'a>,
}

#[derive(Debug, Deserialize)]
pub struct PolicyDto<'a> {
    /// Required in a quote case; a policy file gives it once for all its schemes.
    #[serde(default, borrow)]
    pub region: Option<Scalar<'a>>,
    #[serde(default, borrow)]
    pub scheme: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub deductible: BTreeMap<Cow<'a, str>, DeductibleDto<'a>>,
    #[serde(borrow)]
    pub ratio: BTreeMap<Cow<'a, str>, Scalar<'a>>,
    #[serde(default, borrow)]
    pub retiree_uplift: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub annual_cap: Scalar<'a>,
    #[serde(default, borrow)]
    pub catastrophic: Option<LayerDto<'a>>,
    #[serde(default, borrow)]
    pub assistance: Option<LayerDto<'a>>,
    #[serde(borrow)]
    pub cross_province: CrossProvinceDto<'a>,
    /// Policy files only: the first admission date the policy applies to (`yyyy-MM-dd`).
    #[serde(default)]
    pub effective_from: Option<String>,
    /// Segmented ratios by hospital level: the bands above the level's `ratio`.
    #[serde(default, borrow)]
    pub segments: BTreeMap<Cow<'a, str>, Vec<BandDto<'a>>>,
    /// Resident contribution tiers by number (`"1"` … `"9"`).
    #[serde(default, borrow)]
    pub tiers: BTreeMap<Cow<'a, str>, TierDto<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct ItemDto<'a> {
    #[serde(borrow)]
    pub class: Cow<'a, str>,
    #[serde(default, borrow)]
    pub price_cap: Option<Scalar<'a>>,
    #[serde(default, borrow)]
    pub self_pay_ratio: Option<Scalar<'a>>,
    /// Free text for people; not used in the arithmetic.
    #[serde(default, borrow)]
    pub name: Option<Cow<'a, str>>,
    /// A usual unit price, for simulators; not used in the arithmetic.
    #[serde(default, borrow)]
    pub typical_price: Option<Scalar<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct CatalogueDto<'a> {
    #[serde(borrow)]
    pub items: BTreeMap<Cow<'a, str>, ItemDto<'a>>,
}

/// A decimal that names its field when it is not one.
pub fn decimal(scalar: &Scalar, path: &FieldPath) -> Result<Decimal, FormatError> {
    scalar.decimal().map_err(|message| FormatError::invalid(path, message))
}

pub fn amount(scalar: &Scalar, path: &FieldPath) -> Result<Amount, FormatError> {
    Amount::new(decimal(scalar, path)?).map_err(|error| value_error(path, error))
}

pub fn ratio(scalar: &Scalar, path: &FieldPath) -> Result<Ratio, FormatError> {
    Ratio::new(decimal(scalar, path)?).map_err(|error| value_error(path, error))
}

pub fn region(scalar: &Scalar, path: &FieldPath) -> Result<RegionCode, FormatError> {
    scalar.text.trim().parse().map_err(|error| value_error(path, error))
}

pub fn value_error(path: &FieldPath, error: ValueError) -> FormatError {
    FormatError::invalid(path, error)
}

/// A calendar date, `yyyy-MM-dd`.
pub fn date(text: &str, path: &FieldPath) -> Result<chrono::NaiveDate, FormatError> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| FormatError::invalid(path, format!("{text:?} is not a date (yyyy-MM-dd)")))
}

fn missing(path: &FieldPath) -> FormatError {
    FormatError::invalid(path, "missing field")
}

impl PolicyDto<'_> {
    /// Converts to a domain policy at `path`; `region` and `scheme` fill in what the object
    /// leaves out. The version is left for the caller, who knows where the policy came from.
    pub fn to_policy(
        &self,
        path: &FieldPath,
        region: Option<RegionCode>,
        scheme: Option<Scheme>,
    ) -> Result<Policy, FormatError> {
        let region_path = path.field("region");
        let region = match (&self.region, region) {
            (Some(text), _) => self::region(text, &region_path)?,
            (None, Some(region)) => region,
            (None, None) => return Err(missing(&region_path)),
        };
        let scheme_path = path.field("scheme");
        let scheme = match (&self.scheme, scheme) {
            (Some(text), _) => {
                text.text.trim().parse().map_err(|error| value_error(&scheme_path, error))?
            }
            (None, Some(scheme)) => scheme,
            (None, None) => return Err(missing(&scheme_path)),
        };
        let levels = [
            self.level_terms(path, HospitalLevel::One)?,
            self.level_terms(path, HospitalLevel::Two)?,
            self.level_terms(path, HospitalLevel::Three)?,
        ];
        Ok(Policy {
            region,
            scheme,
            version: String::new(),
            levels,
            retiree_uplift: match &self.retiree_uplift {
                Some(uplift) => ratio(uplift, &path.field("retiree_uplift"))?,
                None => Ratio::ZERO,
            },
            annual_cap: amount(&self.annual_cap, &path.field("annual_cap"))?,
            catastrophic: layer(self.catastrophic.as_ref(), &path.field("catastrophic"))?,
            assistance: self.assistance(&path.field("assistance"))?,
            cross_province: self.cross_province.to_domain(&path.field("cross_province"))?,
            effective_from: match &self.effective_from {
                None => None,
                Some(text) => Some(date(text, &path.field("effective_from"))?),
            },
            segments: self.segments(&path.field("segments"))?,
            catastrophic_terms: catastrophic_terms(
                self.catastrophic.as_ref(),
                &path.field("catastrophic"),
            )?,
            tiers: self.tiers(&path.field("tiers"))?,
        })
    }

    /// Assistance is a plain layer: a threshold, bands or a contribution are the
    /// catastrophic layer's.
    fn assistance(&self, path: &FieldPath) -> Result<Layer, FormatError> {
        if let Some(dto) = &self.assistance {
            let extra = [
                ("threshold", dto.threshold.is_some()),
                ("bands", dto.bands.is_some()),
                ("contributory", dto.contributory),
            ];
            if let Some((field, _)) = extra.iter().find(|(_, given)| *given) {
                return Err(FormatError::invalid(
                    path.field(field),
                    "only the catastrophic layer has it",
                ));
            }
        }
        layer(self.assistance.as_ref(), path)
    }

    fn segments(&self, path: &FieldPath) -> Result<[Vec<Band>; 3], FormatError> {
        let mut segments: [Vec<Band>; 3] = Default::default();
        for (key, bands) in &self.segments {
            let level_path = path.field(key);
            let level = key
                .trim()
                .parse::<u64>()
                .map_err(|_| ValueError::UnknownHospitalLevel)
                .and_then(HospitalLevel::from_number)
                .map_err(|error| value_error(&level_path, error))?;
            segments[level.index()] = self::bands(bands, &level_path)?;
        }
        Ok(segments)
    }

    fn tiers(&self, path: &FieldPath) -> Result<Vec<(u8, TierTerms)>, FormatError> {
        let mut tiers = Vec::with_capacity(self.tiers.len());
        for (key, dto) in &self.tiers {
            let tier_path = path.field(key);
            let tier = tier_number(key)
                .ok_or_else(|| FormatError::invalid(tier_path, "a tier is a number 1 to 9"))?;
            let ratios = tier_path.field("ratio");
            let mut levels = [Ratio::ZERO; 3];
            for level in HospitalLevel::ALL {
                let key = ["1", "2", "3"][level.index()];
                let level_path = ratios.field(key);
                let given = dto.ratio.get(key).ok_or_else(|| missing(&level_path))?;
                levels[level.index()] = ratio(given, &level_path)?;
            }
            let annual_cap = amount(&dto.annual_cap, &tier_path.field("annual_cap"))?;
            tiers.push((tier, TierTerms { ratios: levels, annual_cap }));
        }
        Ok(tiers)
    }

    fn level_terms(
        &self,
        path: &FieldPath,
        level: HospitalLevel,
    ) -> Result<LevelTerms, FormatError> {
        let key = ["1", "2", "3"][level.index()];
        let deductibles = path.field("deductible");
        let deductible_path = deductibles.field(key);
        let deductible = self.deductible.get(key).ok_or_else(|| missing(&deductible_path))?;
        let ratios = path.field("ratio");
        let ratio_path = ratios.field(key);
        let level_ratio = self.ratio.get(key).ok_or_else(|| missing(&ratio_path))?;
        Ok(LevelTerms {
            deductible_first: amount(&deductible.first, &deductible_path.field("first"))?,
            deductible_repeat: amount(&deductible.repeat, &deductible_path.field("repeat"))?,
            ratio: ratio(level_ratio, &ratio_path)?,
        })
    }
}

/// A contribution tier's number, `1` to `9`.
pub fn tier_number(text: &str) -> Option<u8> {
    text.trim().parse::<u8>().ok().filter(|tier| (1..=9).contains(tier))
}

/// Bands that rise from above zero.
fn bands(dtos: &[BandDto], path: &FieldPath) -> Result<Vec<Band>, FormatError> {
    let bands = dtos
        .iter()
        .enumerate()
        .map(|(index, dto)| {
            let band_path = path.index(index);
            Ok(Band {
                from: amount(&dto.from, &band_path.field("from"))?,
                ratio: ratio(&dto.ratio, &band_path.field("ratio"))?,
            })
        })
        .collect::<Result<Vec<_>, FormatError>>()?;
    if !bands_rise(&bands) {
        return Err(FormatError::invalid(
            path,
            "each band's `from` must be above the one before, and above 0",
        ));
    }
    Ok(bands)
}

fn catastrophic_terms(
    dto: Option<&LayerDto>,
    path: &FieldPath,
) -> Result<CatastrophicTerms, FormatError> {
    let Some(dto) = dto else { return Ok(CatastrophicTerms::default()) };
    let threshold = match &dto.threshold {
        Some(threshold) => Some(amount(threshold, &path.field("threshold"))?),
        None => None,
    };
    let bands = match &dto.bands {
        None => Vec::new(),
        Some(_) if threshold.is_none() => {
            return Err(FormatError::invalid(path.field("bands"), "needs a `threshold`"))
        }
        Some(bands) => self::bands(bands, &path.field("bands"))?,
    };
    if let (Some(threshold), Some(first)) = (threshold, bands.first()) {
        if first.from <= threshold {
            return Err(FormatError::invalid(
                path.field("bands"),
                format!("the first band must start above the threshold {threshold}"),
            ));
        }
    }
    Ok(CatastrophicTerms { threshold, bands, contributory: dto.contributory })
}

/// An absent layer pays nothing.
fn layer(dto: Option<&LayerDto>, path: &FieldPath) -> Result<Layer, FormatError> {
    match dto {
        None => Ok(Layer::default()),
        Some(dto) => Ok(Layer {
            ratio: ratio(&dto.ratio, &path.field("ratio"))?,
            cap: amount(&dto.cap, &path.field("cap"))?,
        }),
    }
}

impl CrossProvinceDto<'_> {
    fn to_domain(&self, path: &FieldPath) -> Result<CrossProvince, FormatError> {
        let mode = match self.mode.as_deref() {
            None | Some("points") => AdjustmentMode::Points,
            Some("multiplier") => AdjustmentMode::Multiplier,
            Some(other) => {
                return Err(FormatError::invalid(
                    path.field("mode"),
                    format!("{other:?} is not \"points\" or \"multiplier\""),
                ))
            }
        };
        // `unfiled = "refuse"`: the region does not settle the unfiled directly.
        let refuse_unfiled = self.unfiled.text.trim() == "refuse";
        Ok(CrossProvince {
            refuse_unfiled,
            mode,
            long_term: ratio(&self.long_term, &path.field("long_term"))?,
            referral: ratio(&self.referral, &path.field("referral"))?,
            emergency: ratio(&self.emergency, &path.field("emergency"))?,
            other_temporary: ratio(&self.other_temporary, &path.field("other_temporary"))?,
            unfiled: if refuse_unfiled {
                Ratio::ZERO
            } else {
                ratio(&self.unfiled, &path.field("unfiled"))?
            },
        })
    }
}

impl CatalogueDto<'_> {
    /// Converts to a domain catalogue at `path`; the version is left for the caller.
    pub fn to_catalogue(&self, path: &FieldPath) -> Result<Catalogue, FormatError> {
        let items_path = path.field("items");
        let mut catalogue = Catalogue::default();
        for (code, item) in &self.items {
            let path = items_path.field(code);
            let self_pay_ratio = match &item.self_pay_ratio {
                Some(share) => Some(ratio(share, &path.field("self_pay_ratio"))?),
                None => None,
            };
            let class = ItemClass::parse(item.class.trim(), self_pay_ratio)
                .map_err(|error| value_error(&path.field("class"), error))?;
            let price_cap = match &item.price_cap {
                Some(cap) => {
                    let cap_path = path.field("price_cap");
                    let value = decimal(cap, &cap_path)?;
                    Some(UnitPrice::new(value).map_err(|error| value_error(&cap_path, error))?)
                }
                None => None,
            };
            catalogue.items.insert(code.to_string(), CatalogueItem { class, price_cap });
        }
        Ok(catalogue)
    }
}
