//! Realistic discharge bills from sample persons, as a HIS would send them.

use crate::registry;
use crate::Simulator;
use chrono::{Duration, NaiveDateTime};
use yidi_domain::ids::RegionCode;
use yidi_formats::catalogue_file::TreatmentCatalogue;
use yidi_wire::convert::{self, TIME_FORMAT};
use yidi_wire::v1::{DischargeBill, FeeDetail};

/// Makes the bill of person `index` of `insured`, discharged now from a hospital of
/// `treatment`.
pub fn discharge(
    simulator: &mut Simulator,
    insured: RegionCode,
    index: u64,
    treatment: &TreatmentCatalogue,
    now: NaiveDateTime,
    sequence: u32,
) -> DischargeBill {
    let person = registry::person(insured, index, now.date());
    let hospital = crate::hospitals::designation(
        treatment.region,
        simulator.below(crate::hospitals::PER_PROVINCE),
    );
    let (region, fixmedins_code) = (hospital.region, hospital.code);
    let stay_days = 2 + simulator.below(14);
    let wanted = now - Duration::days(i64::try_from(stay_days).unwrap_or(3));
    let begntime = simulator.admission_after_last_stay((insured, index), wanted, now);
    let lines = simulator.lines(treatment);
    let msgid = convert::msgid(&fixmedins_code, now, sequence);
    let (emergency, trum_flag) = (simulator.chance(10), simulator.chance(3));
    let rel_ttp_flag = simulator.chance(2);
    DischargeBill {
        mdtrt_id: format!("{}{}{:04}", region, now.format("%Y%m%d%H%M%S"), sequence % 10_000),
        msgid,
        psn_no: person.psn_no,
        insutype: person.scheme.code().into(),
        insuplc_admdvs: insured.to_string(),
        mdtrtarea_admvs: region.to_string(),
        fixmedins_name: hospital.name,
        fixmedins_code,
        // The level the hospital is registered at: the exchange settles at that one anyway.
        hosp_lv: i32::from(hospital.level.number()),
        med_type: "21".into(),
        begntime: begntime.format(TIME_FORMAT).to_string(),
        endtime: now.format(TIME_FORMAT).to_string(),
        emergency,
        trum_flag,
        rel_ttp_flag,
        work_injury: simulator.chance(1),
        acct_used_flag: simulator.chance(60),
        feedetail: lines
            .iter()
            .enumerate()
            .map(|(number, line)| FeeDetail {
                feedetl_sn: (number + 1).to_string(),
                med_list_codg: line.code.clone(),
                medins_list_codg: format!("L{:06}", simulator.below(1_000_000)),
                cnt: line.quantity.value().to_string(),
                pric: line.unit_price.value().to_string(),
                det_item_fee_sumamt: yidi_domain::money::Amount::round2(
                    line.quantity.value() * line.unit_price.value(),
                )
                .to_string(),
                fee_ocur_time: begntime.format(TIME_FORMAT).to_string(),
            })
            .collect(),
        pre_settle: false,
        // Drawn last, so that the fields above draw as they did before these existed.
        ttp_status: third_party_status(simulator, rel_ttp_flag).into(),
        public_health: simulator.chance(1),
        abroad: false,
        admission: false,
        hold_amt: String::new(),
    }
}

/// Where a third party's liability stands on a bill that names one (art. 30(2)): mostly
/// unpaid or unidentified, which the fund advances; sometimes paid, which it refuses.
fn third_party_status(simulator: &mut Simulator, rel_ttp_flag: bool) -> &'static str {
    if !rel_ttp_flag {
        return "";
    }
    match simulator.below(10) {
        0..=5 => "unpaid",
        6..=8 => "unidentified",
        _ => "paid",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, TIME_FORMAT).unwrap()
    }

    fn stay(bill: &DischargeBill) -> yidi_domain::stay::Stay {
        yidi_domain::stay::Stay {
            admitted_at: at(&bill.begntime),
            discharged_at: at(&bill.endtime),
        }
    }

    /// A person lies in one hospital a night: the simulated hospitals never bill a stay that
    /// shares a night with the person's last one — nor, after `stays_begin_after`, with a
    /// stay an earlier run billed — which the insured place would refuse as paid already.
    #[test]
    fn a_persons_stays_never_share_a_night() {
        let catalogues = yidi_data::treatment_catalogues().unwrap();
        let insured: RegionCode = "120000".parse().unwrap();
        let mut simulator = Simulator::new(3);
        let first =
            discharge(&mut simulator, insured, 5, &catalogues[0], at("2026-11-20 10:00:00"), 1);
        let second =
            discharge(&mut simulator, insured, 5, &catalogues[1], at("2026-11-21 10:00:00"), 2);
        assert!(!stay(&first).overlaps(&stay(&second)), "{first:?} {second:?}");
        let mut next_run = Simulator::new(3).stays_begin_after(at("2026-11-21 10:00:00"));
        let third =
            discharge(&mut next_run, insured, 5, &catalogues[0], at("2026-11-22 10:00:00"), 3);
        assert!(!stay(&second).overlaps(&stay(&third)), "{second:?} {third:?}");
        let mut forgetful = Simulator::new(3);
        let again =
            discharge(&mut forgetful, insured, 5, &catalogues[0], at("2026-11-22 10:00:00"), 3);
        assert!(stay(&second).overlaps(&stay(&again)), "without the floor a run forgets");
    }
}
