//! The `Agency` gRPC service: filing (file, revoke, query) under the domain's filing rules,
//! each record published to the hub's national filing database; and the registry (enrol,
//! contributions, benefit status) under the benefit rules. Every call comes over TLS with a
//! certificate of the network and acts only for a region the caller hosts, on persons and
//! filings of that region: anyone else gets `PERMISSION_DENIED` (issue #11 §4).

use chrono::NaiveDate;
use tonic::{Request, Response, Status};
use yidi_bus::{topics, Bus, Outgoing};
use yidi_domain::benefit::{self, BenefitRules, Category};
use yidi_domain::claim::BenefitStatus as Entitlement;
use yidi_domain::filing::{self, Filing, FilingRequest, FilingType};
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;
use yidi_domain::policy::InsuredRegion;
use yidi_sim::registry::SamplePerson;
use yidi_store::{Store, StoreError};
use yidi_wire::codec::ContentType;
use yidi_wire::convert::{self, TIME_FORMAT};
use yidi_wire::v1::agency_server::Agency as AgencyService;
use yidi_wire::v1::{
    BenefitStatus, ContributionRequest, EnrolRequest, FileRequest, FilingList, FilingQuery,
    FilingRecord, HaltRecord, HaltRequest, HoldList, HoldQuery, HoldRecord, LiftRequest,
    ReleaseHoldRequest, RevokeRequest, StatusQuery,
};

use yidi_runtime::clock::BusinessClock;
use yidi_runtime::health::{caller, Caller};
use yidi_runtime::outbox::Outbox;

use crate::store;

pub struct AgencyApi {
    pub regions: Vec<InsuredRegion>,
    pub store: Store,
    pub bus: Bus,
    pub rules: BenefitRules,
    pub clock: BusinessClock,
    pub outbox: Outbox,
}

/// A filing record for the hub's national filing database, keyed by the person.
pub fn filing_message(record: &FilingRecord) -> Outgoing {
    Outgoing::new(
        topics::FILING,
        &convert::person_key(&record.psn_no),
        "yidi.v1.FilingRecord",
        record,
        ContentType::Protobuf,
    )
    .with_header(yidi_wire::headers::SENDER, &record.insuplc_admdvs)
}

fn internal(error: StoreError) -> Status {
    Status::internal(error.to_string())
}

fn invalid(error: impl ToString) -> Status {
    Status::invalid_argument(error.to_string())
}

fn record(filing: &Filing) -> FilingRecord {
    convert::filing_record(filing)
}

/// Person `psn_no`, enrolled in `region`; another region's person is not found here.
async fn enrolled_in(
    tx: &mut yidi_store::Tx,
    region: &InsuredRegion,
    psn_no: &str,
) -> Result<store::PersonRecord, Status> {
    store::load_person(tx, psn_no)
        .await
        .map_err(internal)?
        .filter(|person| region.region.covers(person.region))
        .ok_or_else(|| Status::not_found("psn_no: not enrolled in this region"))
}

/// `PERMISSION_DENIED`, saying who may not do what.
fn denied(caller: &Caller, what: impl std::fmt::Display) -> Status {
    Status::permission_denied(format!("{} ({}) may not {what}", caller.subject, caller.role))
}

impl AgencyApi {
    /// The hosted region `code` names, for a caller that hosts it: the agency's own systems
    /// (a certificate of an agency role covering the region), never another province's
    /// agency, an exchange, a hospital or the hub.
    fn region<T>(&self, request: &Request<T>, code: &str) -> Result<&InsuredRegion, Status> {
        let caller = caller(request)?;
        let code: RegionCode = code.parse().map_err(|e| invalid(format!("insuplc_admdvs: {e}")))?;
        if !caller.role.hosts(code) {
            return Err(denied(&caller, format_args!("act for insured region {code}")));
        }
        self.regions
            .iter()
            .find(|r| r.region == code)
            .ok_or_else(|| Status::not_found(format!("insuplc_admdvs: {code} is not hosted here")))
    }

    /// Stores a filing and queues it for the hub in the same transaction (the outbox relay
    /// sends it: a crash after the commit loses nothing).
    async fn publish(&self, filing: &Filing) -> Result<FilingRecord, Status> {
        let out = record(filing);
        let message = filing_message(&out);
        let mut tx = self.store.begin().await.map_err(internal)?;
        store::upsert_filing(&mut tx, filing).await.map_err(internal)?;
        let at = self.clock.now().format("%Y-%m-%d %H:%M:%S").to_string();
        Outbox::put(&mut tx, &message, &at).await.map_err(internal)?;
        tx.commit().await.map_err(|e| internal(e.into()))?;
        self.outbox.wake();
        Ok(out)
    }

    async fn status_on(
        &self,
        region: &InsuredRegion,
        psn_no: &str,
        day: NaiveDate,
    ) -> Result<BenefitStatus, Status> {
        let mut tx = self.store.begin().await.map_err(internal)?;
        let person = enrolled_in(&mut tx, region, psn_no).await?;
        let decision = benefit::decide(&person.registration, &self.rules, day);
        Ok(BenefitStatus {
            psn_no: psn_no.to_owned(),
            trt_enjymnt_flag: decision.status == Entitlement::Active,
            trt_chk_rslt: decision.reason.map(|r| r.code().to_owned()).unwrap_or_default(),
        })
    }
}

#[tonic::async_trait]
impl AgencyService for AgencyApi {
    /// Seed 004 art. 53: halts a person's direct settlement (`halts::halt`).
    async fn halt(&self, request: Request<HaltRequest>) -> Result<Response<HaltRecord>, Status> {
        let region = self.region(&request, &request.get_ref().insuplc_admdvs)?.region;
        let at = self.clock.now().format(TIME_FORMAT).to_string();
        let halted = crate::halts::halt(&self.store, region, request.get_ref(), &at).await?;
        self.outbox.wake();
        Ok(Response::new(halted))
    }

    /// Lifts a halt by a later decision (`halts::lift`).
    async fn lift(&self, request: Request<LiftRequest>) -> Result<Response<HaltRecord>, Status> {
        let region = self.region(&request, &request.get_ref().insuplc_admdvs)?.region;
        let at = self.clock.now().format(TIME_FORMAT).to_string();
        let lifted = crate::halts::lift(&self.store, region, request.get_ref(), &at).await?;
        self.outbox.wake();
        Ok(Response::new(lifted))
    }

    /// A person's admission holds (`holds::query`).
    async fn query_holds(&self, request: Request<HoldQuery>) -> Result<Response<HoldList>, Status> {
        let region = self.region(&request, &request.get_ref().insuplc_admdvs)?.region;
        let today = self.clock.today();
        Ok(Response::new(crate::holds::query(&self.store, region, request.get_ref(), today).await?))
    }

    /// Releases a person's admission hold at the desk's word (`holds::release`).
    async fn release_hold(
        &self,
        request: Request<ReleaseHoldRequest>,
    ) -> Result<Response<HoldRecord>, Status> {
        let region = self.region(&request, &request.get_ref().insuplc_admdvs)?.region;
        let at = self.clock.now().format(TIME_FORMAT).to_string();
        let today = self.clock.today();
        let released =
            crate::holds::release(&self.store, region, request.get_ref(), &at, today).await?;
        Ok(Response::new(released))
    }

    async fn file(&self, request: Request<FileRequest>) -> Result<Response<FilingRecord>, Status> {
        let region = self.region(&request, &request.get_ref().insuplc_admdvs)?;
        let request = request.into_inner();
        let filing_type = FilingType::parse(&request.filing_type)
            .ok_or_else(|| invalid("filing_type: not one of the six filing types"))?;
        let target =
            request.target_admdvs.parse().map_err(|e| invalid(format!("target_admdvs: {e}")))?;
        let begins_on = convert::date(&request.begndate, "begndate").map_err(invalid)?;
        let ends_on = if request.enddate.is_empty() {
            None
        } else {
            Some(convert::date(&request.enddate, "enddate").map_err(invalid)?)
        };
        let mut tx = self.store.begin().await.map_err(internal)?;
        enrolled_in(&mut tx, region, &request.psn_no).await?;
        let existing = store::load_filings(&mut tx, &request.psn_no).await.map_err(internal)?;
        drop(tx);
        let id = format!("F{}{}", region.region, self.clock.now().format("%Y%m%d%H%M%S%3f"));
        let filed = filing::file(
            FilingRequest {
                id,
                person: request.psn_no,
                insured_region: region.region,
                filing_type,
                target,
                begins_on,
                ends_on,
            },
            &region.filing,
            &existing,
            self.clock.now(),
        )
        .map_err(|e| Status::failed_precondition(format!("{}: {e}", e.code())))?;
        self.publish(&filed).await.map(Response::new)
    }

    async fn revoke(
        &self,
        request: Request<RevokeRequest>,
    ) -> Result<Response<FilingRecord>, Status> {
        let region = self.region(&request, &request.get_ref().insuplc_admdvs)?;
        let request = request.into_inner();
        let mut tx = self.store.begin().await.map_err(internal)?;
        let filing = store::find_filing(&mut tx, &request.filing_id)
            .await
            .map_err(internal)?
            .filter(|filing| region.region.covers(filing.insured_region))
            .ok_or_else(|| Status::not_found("filing_id: no such filing in this region"))?;
        drop(tx);
        let revoked = filing::revoke(&filing, &region.filing, self.clock.now())
            .map_err(|e| Status::failed_precondition(format!("{}: {e}", e.code())))?;
        self.publish(&revoked).await.map(Response::new)
    }

    async fn query_filings(
        &self,
        request: Request<FilingQuery>,
    ) -> Result<Response<FilingList>, Status> {
        let region = self.region(&request, &request.get_ref().insuplc_admdvs)?;
        let request = request.into_inner();
        let mut tx = self.store.begin().await.map_err(internal)?;
        let filings = store::load_filings(&mut tx, &request.psn_no).await.map_err(internal)?;
        let filings = filings
            .iter()
            .filter(|filing| region.region.covers(filing.insured_region))
            .map(record)
            .collect();
        Ok(Response::new(FilingList { filings }))
    }

    async fn enrol(
        &self,
        request: Request<EnrolRequest>,
    ) -> Result<Response<BenefitStatus>, Status> {
        let region = self.region(&request, &request.get_ref().insuplc_admdvs)?;
        let request = request.into_inner();
        let scheme = request.insutype.parse().map_err(|e| invalid(format!("insutype: {e}")))?;
        let category = match request.category.as_str() {
            "employed" => Category::Employed,
            "flexible_worker" => Category::FlexibleWorker,
            "student" => Category::Student,
            "resident" => Category::Resident,
            _ => return Err(invalid("category: employed, flexible_worker, student or resident (retirees are enrolled by their pension record)")),
        };
        let enrolled_on = convert::date(&request.enrolled_on, "enrolled_on").map_err(invalid)?;
        let contribution_tier = match request.contribution_tier {
            0 => None,
            tier @ 1..=9 => u8::try_from(tier).ok(),
            _ => return Err(invalid("contribution_tier: 1 to 9, or 0 for none")),
        };
        let person = SamplePerson {
            psn_no: request.psn_no.clone(),
            region: region.region,
            scheme,
            category,
            enrolled_on,
            contributions: Vec::new(),
            paused_on: None,
            assistance_eligible: false,
            account_balance: Amount::ZERO,
            filings: Vec::new(),
            contribution_tier,
            large_amount_contributor: request.large_amount_contributor.unwrap_or(true),
        };
        let mut tx = self.store.begin().await.map_err(internal)?;
        store::seed_person(&mut tx, &person).await.map_err(internal)?;
        tx.commit().await.map_err(|e| internal(e.into()))?;
        self.status_on(region, &request.psn_no, self.clock.now().date()).await.map(Response::new)
    }

    async fn pay_contribution(
        &self,
        request: Request<ContributionRequest>,
    ) -> Result<Response<BenefitStatus>, Status> {
        let region = self.region(&request, &request.get_ref().insuplc_admdvs)?;
        let request = request.into_inner();
        let paid_on = convert::date(&request.paid_on, "paid_on").map_err(invalid)?;
        let mut tx = self.store.begin().await.map_err(internal)?;
        enrolled_in(&mut tx, region, &request.psn_no).await?;
        store::add_contribution(&mut tx, &request.psn_no, &request.period, paid_on)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(|e| internal(e.into()))?;
        self.status_on(region, &request.psn_no, self.clock.now().date()).await.map(Response::new)
    }

    async fn status(
        &self,
        request: Request<StatusQuery>,
    ) -> Result<Response<BenefitStatus>, Status> {
        let region = self.region(&request, &request.get_ref().insuplc_admdvs)?;
        let request = request.into_inner();
        let day = if request.on.is_empty() {
            self.clock.now().date()
        } else {
            convert::date(&request.on, "on").map_err(invalid)?
        };
        self.status_on(region, &request.psn_no, day).await.map(Response::new)
    }
}
