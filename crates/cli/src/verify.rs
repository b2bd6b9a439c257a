//! `yidi verify receipt.json`: checks a settlement receipt offline (issue #11 §3) — the
//! insured agency's signature over the result, the hub's countersignature over it, both
//! against the network's certificate bundle, and that the agency is the one hosting the
//! person's insured region. What a hospital shows an auditor, and how the auditor checks it.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args as ClapArgs;
use yidi_domain::ids::RegionCode;
use yidi_trust::{Bundle, Receipt};
use yidi_wire::codec::{self, ContentType};
use yidi_wire::v1::{SettleResult, SettleStatus};

#[derive(ClapArgs)]
pub struct Args {
    /// The receipt (the `yidi-receipt` header of a result, as JSON).
    receipt: PathBuf,
    /// The network's public certificate bundle.
    #[arg(long, default_value = ".run/keys/bundle.json")]
    bundle: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let bundle = Bundle::load(&args.bundle)?;
    let text = std::fs::read_to_string(&args.receipt)
        .with_context(|| format!("{}", args.receipt.display()))?;
    let receipt: Receipt =
        serde_json::from_str(&text).with_context(|| format!("{}", args.receipt.display()))?;
    let verified = receipt.verify(&bundle).map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
    let content_type = ContentType::from_header(Some(&receipt.content_type))?;
    let result: SettleResult = codec::decode(&verified.payload, content_type, "SettleResult")?;
    let insured: RegionCode = result
        .insuplc_admdvs
        .parse()
        .map_err(|_| anyhow::anyhow!("AUTH_FORGED: insuplc_admdvs is not a region code"))?;
    if !verified.agency.role.hosts(insured) {
        bail!(
            "AUTH_NOT_ALLOWED: {} ({}) may not answer for persons insured in {insured}",
            verified.agency.subject,
            verified.agency.role
        );
    }
    let info = result.setlinfo.unwrap_or_default();
    let status = SettleStatus::try_from(result.status).map_or("unknown", |s| s.as_str_name());
    println!("receipt verified");
    println!("  msgid {}  mdtrt_id {}", result.msgid, result.mdtrt_id);
    println!(
        "  {status}  setl_id {}  insured {insured}  treated {}",
        info.setl_id, result.mdtrtarea_admvs
    );
    println!(
        "  medfee_sumamt {}  fund_pay_sumamt {}  acct_pay {}  psn_cash_pay {}",
        info.medfee_sumamt, info.fund_pay_sumamt, info.acct_pay, info.psn_cash_pay
    );
    println!(
        "  signed by {} ({}) at {}; countersigned by {}",
        verified.agency.subject,
        verified.agency.role,
        verified.signed_at.format("%Y-%m-%d %H:%M:%S UTC"),
        verified.hub.subject
    );
    Ok(())
}
