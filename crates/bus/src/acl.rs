//! What each principal may do on a Kafka cluster that enforces ACLs: the per-province topic
//! design as grants (issue #11 §5).
//!
//! Signatures already decide who may *say* what (`authority`); ACLs keep a principal from
//! even reading another province's topics or writing where it has no business, on a cluster
//! that enforces them (Apache Kafka with `StandardAuthorizer`; the one-machine tansu accepts
//! ACLs and enforces none). `yidi keys acls` prints them as `kafka-acls.sh` commands.

use std::collections::BTreeSet;

use yidi_trust::Role;

use crate::topics;

/// What a grant allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    Read,
    Write,
    Create,
    Describe,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Read => "Read",
            Operation::Write => "Write",
            Operation::Create => "Create",
            Operation::Describe => "Describe",
        }
    }
}

/// What a grant is on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    /// One topic.
    Topic(String),
    /// Every topic whose name begins so.
    TopicPrefix(String),
    /// One consumer group.
    Group(String),
    /// Every consumer group whose name begins so.
    GroupPrefix(String),
}

/// One permission of one principal.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grant {
    pub principal: String,
    pub operation: Operation,
    pub resource: Resource,
}

impl Grant {
    /// The `kafka-acls.sh` arguments that add this grant.
    pub fn kafka_acls_args(&self) -> String {
        let (kind, name, pattern) = match &self.resource {
            Resource::Topic(name) => ("topic", name, "literal"),
            Resource::TopicPrefix(name) => ("topic", name, "prefixed"),
            Resource::Group(name) => ("group", name, "literal"),
            Resource::GroupPrefix(name) => ("group", name, "prefixed"),
        };
        format!(
            "--add --allow-principal User:{} --operation {} --{kind} {name} --resource-pattern-type {pattern}",
            self.principal,
            self.operation.as_str()
        )
    }
}

/// The consumer group of an agency hosting `regions`: `agency-` and its provinces.
pub fn agency_group(regions: &[yidi_domain::ids::RegionCode]) -> String {
    let provinces: BTreeSet<String> = regions.iter().map(|r| r.province().to_string()).collect();
    format!("agency-{}", provinces.into_iter().collect::<Vec<_>>().join("-"))
}

/// The topics a process of `role` reads and writes, and its consumer groups.
struct Resources {
    reads: Vec<Resource>,
    writes: Vec<Resource>,
    groups: Vec<Resource>,
}

fn resources(principal: &str, role: &Role) -> Resources {
    let mut reads: Vec<Resource> = Vec::new();
    let mut writes: Vec<Resource> = Vec::new();
    let mut groups: Vec<Resource> = Vec::new();
    let topic = |name: &str| Resource::Topic(name.to_owned());
    match role {
        Role::Root => {}
        Role::Hub => {
            for name in [
                topics::HUB_REQUESTS,
                topics::HUB_RESULTS,
                topics::FILING,
                topics::HUB_STATEMENTS,
                topics::HUB_SANCTIONS,
            ] {
                reads.push(topic(name));
            }
            // Every province's requests, results and statement requests: the hub routes.
            writes.push(Resource::TopicPrefix("agency.".into()));
            writes.push(Resource::TopicPrefix("exchange.".into()));
            writes.push(topic(topics::DEAD_LETTER));
            groups.push(Resource::Group("hub".into()));
        }
        Role::Agency(regions) => {
            let provinces: BTreeSet<String> =
                regions.iter().map(|r| r.province().to_string()).collect();
            for province in &provinces {
                reads.push(topic(&topics::agency_requests(province)));
            }
            for name in
                [topics::HUB_RESULTS, topics::FILING, topics::HUB_SANCTIONS, topics::DEAD_LETTER]
            {
                writes.push(topic(name));
            }
            groups.push(Resource::Group(agency_group(regions)));
        }
        Role::Exchange(province) => {
            let p = province.as_str();
            reads.push(topic(&topics::his_discharge(p)));
            reads.push(topic(&topics::exchange_results(p)));
            reads.push(topic(&topics::exchange_statements(p)));
            reads.push(topic(&topics::exchange_hospitals(p)));
            // The national filing database's records, for the HIS's pre-admission check.
            reads.push(topic(topics::FILING));
            for name in [
                topics::HUB_REQUESTS.to_owned(),
                topics::HUB_STATEMENTS.to_owned(),
                topics::his_settlement(p),
                topics::DEAD_LETTER.to_owned(),
            ] {
                writes.push(topic(&name));
            }
            groups.push(Resource::Group(format!("exchange-{p}")));
        }
        Role::His(province) => {
            let p = province.as_str();
            reads.push(topic(&topics::his_settlement(p)));
            writes.push(topic(&topics::his_discharge(p)));
            groups.push(Resource::GroupPrefix(format!("{principal}.")));
        }
    }
    Resources { reads, writes, groups }
}

/// Every grant of `principal` in `role`: what its process reads, writes and creates, and its
/// consumer group. A HIS's consumers use groups named after its principal (`his-440000.…`).
pub fn grants(principal: &str, role: &Role) -> Vec<Grant> {
    let Resources { reads, writes, groups } = resources(principal, role);
    let mut all = Vec::new();
    let mut grant = |operation, resource: &Resource| {
        all.push(Grant { principal: principal.to_owned(), operation, resource: resource.clone() })
    };
    for resource in &reads {
        grant(Operation::Read, resource);
        grant(Operation::Describe, resource);
    }
    for resource in &writes {
        grant(Operation::Write, resource);
        grant(Operation::Describe, resource);
    }
    // A service creates the topics it uses at start (a HIS does not).
    if !matches!(role, Role::His(_)) {
        for resource in reads.iter().chain(&writes) {
            grant(Operation::Create, resource);
        }
    }
    for resource in &groups {
        grant(Operation::Read, resource);
    }
    all.sort();
    all.dedup();
    all
}

/// The grants of the network's tools ([`yidi_trust::login::OPERATOR`]): reading the dead
/// letters and sending a refused message back to its topic (`yidi dlq replay`).
pub fn operator_grants() -> Vec<Grant> {
    let principal = yidi_trust::login::OPERATOR.to_owned();
    let mut all = vec![
        Grant {
            principal: principal.clone(),
            operation: Operation::Read,
            resource: Resource::Topic(topics::DEAD_LETTER.into()),
        },
        Grant {
            principal: principal.clone(),
            operation: Operation::Read,
            resource: Resource::GroupPrefix("yidi-dlq".into()),
        },
    ];
    for operation in [Operation::Write, Operation::Describe] {
        for prefix in ["hub.", "agency.", "exchange.", "his.", topics::FILING] {
            all.push(Grant {
                principal: principal.clone(),
                operation,
                resource: Resource::TopicPrefix(prefix.into()),
            });
        }
    }
    all.push(Grant {
        principal,
        operation: Operation::Describe,
        resource: Resource::Topic(topics::DEAD_LETTER.into()),
    });
    all.sort();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(grants: &[Grant], operation: Operation, name: &str) -> bool {
        grants.iter().any(|g| {
            g.operation == operation
                && match &g.resource {
                    Resource::Topic(topic) => topic == name,
                    Resource::TopicPrefix(prefix) => name.starts_with(prefix.as_str()),
                    _ => false,
                }
        })
    }

    fn role(text: &str) -> Role {
        text.parse().unwrap()
    }

    #[test]
    fn an_agency_reads_only_the_requests_of_the_provinces_it_hosts() {
        let north = grants("agency-north", &role("agency:110000,120000"));
        assert!(allows(&north, Operation::Read, "agency.110000.requests"));
        assert!(allows(&north, Operation::Read, "agency.120000.requests"));
        assert!(!allows(&north, Operation::Read, "agency.310000.requests"));
        assert!(allows(&north, Operation::Write, "hub.results"));
        assert!(allows(&north, Operation::Write, "filing"));
        assert!(!allows(&north, Operation::Write, "hub.requests"), "an agency submits no bill");
        assert!(!allows(&north, Operation::Read, "his.440000.discharge"));
        assert!(north.iter().any(|g| g.resource == Resource::Group("agency-110000-120000".into())));
    }

    #[test]
    fn an_exchange_reads_only_its_own_province() {
        let shanghai = grants("exchange-310000", &role("exchange:310000"));
        for topic in [
            "his.310000.discharge",
            "exchange.310000.results",
            "exchange.310000.statements",
            "exchange.310000.hospitals",
            "filing",
        ] {
            assert!(allows(&shanghai, Operation::Read, topic), "{topic}");
        }
        assert!(!allows(&shanghai, Operation::Read, "exchange.440000.results"));
        assert!(!allows(&shanghai, Operation::Read, "exchange.440000.hospitals"));
        assert!(!allows(&shanghai, Operation::Write, "filing"), "only agencies file");
        assert!(!allows(&shanghai, Operation::Read, "agency.120000.requests"), "no one's patients");
        assert!(allows(&shanghai, Operation::Write, "hub.requests"));
        assert!(allows(&shanghai, Operation::Write, "his.310000.settlement"));
        assert!(!allows(&shanghai, Operation::Write, "his.440000.settlement"));
        assert!(
            !allows(&shanghai, Operation::Write, "hub.results"),
            "an exchange issues no result"
        );
    }

    #[test]
    fn a_hospital_sends_its_bills_and_reads_its_answers_only() {
        let his = grants("his-440000", &role("his:440000"));
        assert!(allows(&his, Operation::Write, "his.440000.discharge"));
        assert!(allows(&his, Operation::Read, "his.440000.settlement"));
        assert!(!allows(&his, Operation::Read, "his.310000.settlement"));
        assert!(!allows(&his, Operation::Write, "hub.requests"));
        assert!(!his.iter().any(|g| g.operation == Operation::Create), "a HIS creates no topic");
        assert!(his.iter().any(|g| g.resource == Resource::GroupPrefix("his-440000.".into())));
    }

    #[test]
    fn the_hub_routes_to_every_province_and_reads_no_hospital_topic() {
        let hub = grants("hub", &Role::Hub);
        assert!(allows(&hub, Operation::Write, "agency.120000.requests"));
        assert!(allows(&hub, Operation::Write, "exchange.440000.results"));
        assert!(allows(&hub, Operation::Read, "hub.requests"));
        assert!(!allows(&hub, Operation::Read, "his.440000.discharge"));
        assert!(!allows(&hub, Operation::Read, "agency.120000.requests"));
    }

    #[test]
    fn a_grant_is_one_kafka_acls_command() {
        let grant = Grant {
            principal: "hub".into(),
            operation: Operation::Write,
            resource: Resource::TopicPrefix("agency.".into()),
        };
        assert_eq!(
            grant.kafka_acls_args(),
            "--add --allow-principal User:hub --operation Write --topic agency. --resource-pattern-type prefixed"
        );
    }
}
