//! The three PSAs behind one fixture, so the PSA-import and mapping tests run for each
//! (`for_each_psa!` makes one test per PSA): its simulator, a pack config for it, the
//! names it uses, and switches for its faults.
use orghub::connectwise::simulator::{self as cw, SimCredentials, Simulator};
use orghub::psa::autotask_sim::{self as at, AutotaskSimCredentials, AutotaskSimulator};
use orghub::psa::halo_sim::{self as halo, HaloSimCredentials, HaloSimulator};
use serde_json::{Value, json};

use crate::helpers::TestApp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    ConnectWise,
    Autotask,
    Halo,
}

pub enum AnyPsa {
    ConnectWise(Simulator),
    Autotask(AutotaskSimulator),
    Halo(HaloSimulator),
}

/// One `#[tokio::test]` per PSA for each named `async fn name(kind: Kind)`.
#[macro_export]
macro_rules! for_each_psa {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::psas::Kind;
                #[tokio::test]
                async fn connectwise() {
                    super::$name(Kind::ConnectWise).await
                }
                #[tokio::test]
                async fn autotask() {
                    super::$name(Kind::Autotask).await
                }
                #[tokio::test]
                async fn halopsa() {
                    super::$name(Kind::Halo).await
                }
            }
        )*
    };
}

impl AnyPsa {
    /// A simulator with `companies` seeded companies: the same names in each ("Contoso",
    /// "Fabrikam Inc", …), every tenth one inactive.
    pub async fn start(kind: Kind, companies: usize) -> AnyPsa {
        match kind {
            Kind::ConnectWise => AnyPsa::ConnectWise(
                Simulator::start(companies, SimCredentials::default())
                    .await
                    .unwrap(),
            ),
            Kind::Autotask => AnyPsa::Autotask(
                AutotaskSimulator::start(companies, AutotaskSimCredentials::default())
                    .await
                    .unwrap(),
            ),
            Kind::Halo => AnyPsa::Halo(
                HaloSimulator::start(companies, HaloSimCredentials::default())
                    .await
                    .unwrap(),
            ),
        }
    }

    pub fn pack_id(&self) -> &'static str {
        match self {
            AnyPsa::ConnectWise(_) => "connectwise-psa",
            AnyPsa::Autotask(_) => "datto-autotask-psa",
            AnyPsa::Halo(_) => "halopsa",
        }
    }

    /// The pack's `reference` (`psaRef`).
    pub fn psa_ref(&self) -> &'static str {
        match self {
            AnyPsa::ConnectWise(_) => "connectwise_psa",
            AnyPsa::Autotask(_) => "datto_autotask_psa",
            AnyPsa::Halo(_) => "halopsa",
        }
    }

    /// A `psaRef` naming another PSA.
    pub fn other_ref(&self) -> &'static str {
        match self {
            AnyPsa::Halo(_) => "connectwise_psa",
            _ => "halopsa",
        }
    }

    /// The org variable a mapping writes.
    pub fn mapping_variable(&self) -> &'static str {
        match self {
            AnyPsa::ConnectWise(_) => "cw_manage_company_id",
            AnyPsa::Autotask(_) => "datto_company_id",
            AnyPsa::Halo(_) => "halo_psa_client_id",
        }
    }

    /// The config fields for this simulator.
    pub fn config(&self) -> Value {
        match self {
            AnyPsa::ConnectWise(sim) => {
                let c = &sim.credentials;
                json!({ "hostname": sim.host(), "company_id": c.company_id, "public_key": c.public_key,
                        "private_key": c.private_key, "client_id": c.client_id })
            }
            AnyPsa::Autotask(sim) => {
                let c = sim.client_credentials();
                json!({ "username": c.username, "secret": c.secret,
                        "integration_code": c.integration_code, "zone_url": sim.url() })
            }
            AnyPsa::Halo(sim) => {
                let c = sim.client_credentials();
                json!({ "resource_server_url": sim.url(), "client_id": c.client_id,
                        "client_secret": c.client_secret })
            }
        }
    }

    /// The name of the secret field, to break the credentials with.
    pub fn secret_field(&self) -> &'static str {
        match self {
            AnyPsa::ConnectWise(_) => "private_key",
            AnyPsa::Autotask(_) => "secret",
            AnyPsa::Halo(_) => "client_secret",
        }
    }

    /// The status labels of its filter options, in order; the second is the inactive one.
    pub fn status_labels(&self) -> Vec<&'static str> {
        match self {
            AnyPsa::ConnectWise(_) => vec!["Active", "Inactive", "Not Approved"],
            _ => vec!["Active", "Inactive"],
        }
    }

    /// The account-type labels of its filter options, in order.
    pub fn type_labels(&self) -> Vec<&'static str> {
        match self {
            AnyPsa::ConnectWise(_) => vec!["Client", "Prospect", "Vendor", "Partner"],
            AnyPsa::Autotask(_) => at::COMPANY_TYPES.iter().map(|(_, l)| *l).collect(),
            AnyPsa::Halo(_) => halo::CUSTOMER_TYPES.iter().map(|(_, l)| *l).collect(),
        }
    }

    /// The config field naming where the PSA is, and its value for `addr`.
    pub fn address_of(&self, addr: std::net::SocketAddr) -> (&'static str, String) {
        match self {
            AnyPsa::ConnectWise(_) => ("hostname", addr.to_string()),
            AnyPsa::Autotask(_) => ("zone_url", format!("http://{addr}")),
            AnyPsa::Halo(_) => ("resource_server_url", format!("http://{addr}")),
        }
    }

    /// The next `n` requests fail with 500 (0: none).
    pub fn server_errors(&self, n: u32) {
        match self {
            AnyPsa::ConnectWise(sim) => sim.set_faults(cw::Faults {
                server_errors: n,
                ..Default::default()
            }),
            AnyPsa::Autotask(sim) => sim.set_faults(at::Faults {
                server_errors: n,
                ..Default::default()
            }),
            AnyPsa::Halo(sim) => sim.set_faults(at::Faults {
                server_errors: n,
                ..Default::default()
            }),
        }
    }

    /// A config for this PSA in the MSP, named `name` (not tested).
    pub async fn create_config(&self, app: &TestApp, name: &str) -> String {
        let data = app
            .ok(
                &app.admin,
                "mutation($c: PackConfigCreateInput!) { createPackConfig(packConfig: $c) { id } }",
                json!({ "c": { "orgId": app.msp_id, "packId": self.pack_id(), "name": name, "config": self.config() } }),
            )
            .await;
        data["createPackConfig"]["id"].as_str().unwrap().to_owned()
    }

    /// A config tested GREEN.
    pub async fn green_config(&self, app: &TestApp, name: &str) -> String {
        let id = self.create_config(app, name).await;
        let run = app
            .ok(
                &app.admin,
                "mutation($id: ID!) { testPackConfig(packConfig: {id: $id}) { executionId } }",
                json!({ "id": id }),
            )
            .await;
        assert!(run["testPackConfig"]["executionId"].is_string());
        let health = app
            .ok(
                &app.admin,
                "query($id: ID!) { packConfig(where: {id: $id}) { health { status reason } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(
            health["packConfig"]["health"]["status"], "GREEN",
            "{health}"
        );
        id
    }
}
