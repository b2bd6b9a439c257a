//! A whole yidi network for one test: the tansu broker and the service binaries, each in its
//! own process, on free loopback ports, with their data in a fresh folder.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The folder cargo put the binaries in (`target/debug`): this test's own folder's parent.
fn binaries() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// The broker `make test` installs: `YIDI_TANSU`, or what `scripts/install-broker.sh` prints
/// (the cached, patched build; it returns at once once built).
fn tansu() -> PathBuf {
    if let Some(path) = std::env::var_os("YIDI_TANSU") {
        return PathBuf::from(path);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-broker.sh");
    let output = Command::new(&script).stderr(Stdio::inherit()).output().unwrap();
    assert!(output.status.success(), "{} failed: no broker to test with", script.display());
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_port(port: u16, what: &str) {
    // An agency seeds its registry and publishes its filings before it serves: tens of
    // seconds when the machine is busy.
    let deadline = Instant::now() + Duration::from_secs(180);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not open port {port}");
}

/// `GET path` of a service's plain-HTTP endpoint (metrics, readiness): the status code and the
/// body, or `None` when nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// A JSON POST to a local HTTP server: its status and body.
pub fn http_post(port: u16, path: &str, body: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// The sum of the samples of `name` (as exposed: `yidi_results_total`) whose labels include
/// every one of `labels`, in an OpenMetrics text.
pub fn metric_sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
            let wanted = metric == name
                && labels.iter().all(|(key, value)| rest.contains(&format!("{key}=\"{value}\"")));
            wanted.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// Waits until a service says it is ready (`/ready` beside its metrics): its store open and
/// its consumer assigned, as `make up` waits.
fn wait_ready(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while Instant::now() < deadline {
        if http_get(port, "/ready").is_some_and(|(status, _)| status == 200) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not become ready (metrics port {port})");
}

/// Gives the broker whose data is in `dir` every login in `dir/keys`, as `make up` does
/// (`scripts/broker-logins.sh`); the broker must not be running.
fn broker_logins(dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/broker-logins.sh");
    let status = Command::new(&script)
        .arg(tansu())
        .arg(dir)
        .arg(dir.join("keys"))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{} failed", script.display());
}

/// tansu on `brokers`, its data (SQLite) in `dir`, every client logging in (SASL/SCRAM); its
/// log appended to `broker.log`.
fn start_broker(dir: &Path, brokers: &str) -> Child {
    let log =
        std::fs::OpenOptions::new().create(true).append(true).open(dir.join("broker.log")).unwrap();
    Command::new(tansu())
        .args([
            "broker",
            "--authentication",
            "--listener-url",
            &format!("tcp://{brokers}"),
            "--advertised-listener-url",
            &format!("tcp://{brokers}"),
        ])
        // tansu resolves a SQLite URL against its working directory.
        .args(["--storage-engine", "sqlite://tansu.db"])
        .current_dir(dir)
        .stdout(log)
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The network's credentials, made as `make up` makes them: `yidi keys init` over the local
/// configs.
fn make_keys(dir: &Path) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let configs = std::fs::read_dir(repo.join("deploy/config/local"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"));
    let status = Command::new(binaries().join("yidi"))
        .args(["keys", "init", "--dir"])
        .arg(dir)
        .args(configs)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "yidi keys init failed");
}

/// One service process and how to start it again.
struct Service {
    binary: &'static str,
    config: &'static str,
    /// The process's name among its role's (`YIDI_INSTANCE`), when the role runs as several.
    instance: Option<&'static str>,
    /// The service whose database this one uses (itself, or its role's first instance).
    database: &'static str,
    grpc: u16,
    /// `/metrics` and `/ready`.
    metrics: u16,
    child: Option<Child>,
}

/// Networks started by this test binary so far: part of each one's folder name.
static NETWORKS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// One whole network at a time in a test binary: two side by side on two cores starve each
/// other's services past every patience a scenario has.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds the binary's one-network-at-a-time turn until dropped.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub struct Network {
    pub dir: PathBuf,
    pub brokers: String,
    /// The hub's dashboard and clearing API port.
    pub dashboard: u16,
    /// The business date the hub's clearing clock starts at, if not today.
    clock_start: Option<String>,
    /// Where the services export their spans (OTLP/gRPC), if anywhere.
    otlp: Option<String>,
    broker: Child,
    services: BTreeMap<&'static str, Service>,
    /// Whether the logs and data stay when the network stops (a test failed).
    pub keep_data: bool,
    /// Partitions of every topic, when not the services' default.
    partitions: Option<i32>,
}

/// Exchanges of the test network (treatment provinces).
pub const EXCHANGES: [&str; 4] = ["440000", "310000", "110000", "330000"];

impl Network {
    pub fn start() -> Network {
        Network::start_at(None)
    }

    /// A network whose services export their spans to the OTLP receiver at `endpoint`.
    pub fn start_traced(endpoint: &str) -> Network {
        Network::start_with(None, Some(endpoint))
    }

    /// A network whose hub starts its business clock at `clock_start` (`YYYY-MM-DD`).
    pub fn start_at(clock_start: Option<&str>) -> Network {
        Network::start_with(clock_start, None)
    }

    /// A network whose topics have `partitions` partitions and whose `agency-north` and
    /// `exchange-440000` each run as two processes in one consumer group (`agency-north` and
    /// `agency-north-2`, instances 1 and 2 on one database; the same for the exchange): issue
    /// #9 §6.
    pub fn start_scaled(partitions: i32) -> Network {
        let mut services = services();
        let instances = [
            ("agency-north", "yidi-agency", "agency-north", "1"),
            ("agency-north-2", "yidi-agency", "agency-north", "2"),
            ("exchange-440000", "yidi-exchange", "exchange-440000", "1"),
            ("exchange-440000-2", "yidi-exchange", "exchange-440000", "2"),
        ];
        for (name, binary, role, instance) in instances {
            let service = Service {
                binary,
                config: role,
                instance: Some(instance),
                database: role,
                grpc: free_port(),
                metrics: free_port(),
                child: None,
            };
            services.insert(name, service);
        }
        Network::start_from(None, None, services, Some(partitions))
    }

    fn start_with(clock_start: Option<&str>, otlp: Option<&str>) -> Network {
        Network::start_from(clock_start, otlp, services(), None)
    }

    fn start_from(
        clock_start: Option<&str>,
        otlp: Option<&str>,
        services: BTreeMap<&'static str, Service>,
        partitions: Option<i32>,
    ) -> Network {
        // Two tests of one binary can start a network in the same millisecond; the counter
        // keeps their folders (keys, logins, databases) apart.
        let dir = std::env::temp_dir().join(format!(
            "yidi-e2e-{}-{}-{}",
            std::process::id(),
            chrono::Local::now().timestamp_millis(),
            NETWORKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        make_keys(&dir.join("keys"));
        broker_logins(&dir);
        let port = free_port();
        let brokers = format!("127.0.0.1:{port}");
        let broker = start_broker(&dir, &brokers);
        wait_port(port, "broker");
        let mut network = Network {
            dir,
            brokers,
            dashboard: free_port(),
            clock_start: clock_start.map(str::to_owned),
            otlp: otlp.map(str::to_owned),
            broker,
            services,
            keep_data: false,
            partitions,
        };
        network.spawn("hub");
        let names: Vec<&'static str> =
            network.services.keys().copied().filter(|n| *n != "hub").collect();
        for name in names {
            network.spawn(name);
        }
        network
    }

    /// The credentials of party `name` (`hub`, `exchange-310000`, `his-310000`…) and the
    /// network's bundle, as that party's process holds them.
    pub fn trust(&self, name: &str) -> yidi_bus::Trust {
        let keys = self.dir.join("keys");
        yidi_bus::Trust {
            credentials: std::sync::Arc::new(yidi_trust::Credentials::load(&keys, name).unwrap()),
            bundle: std::sync::Arc::new(
                yidi_trust::Bundle::load(&keys.join(yidi_trust::keys::BUNDLE)).unwrap(),
            ),
            unsigned_topics: std::collections::BTreeSet::new(),
        }
    }

    /// Client settings that reach this network's broker logged in as `login` (`operator`,
    /// `his-440000`, `exchange-310000`…, each with its own password).
    pub fn client(&self, login: &str) -> rdkafka::ClientConfig {
        let mut config = rdkafka::ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        let login = yidi_trust::Login::load(&self.dir.join("keys"), login).unwrap().unwrap();
        yidi_bus::client::sign_in(&mut config, &login);
        config
    }

    /// A gRPC channel to service `service`, over TLS with `party`'s certificate (`his-440000`,
    /// `agency-north`…), as that party's systems call it.
    pub async fn grpc(
        &self,
        service: &str,
        party: &str,
    ) -> Result<tonic::transport::Channel, tonic::transport::Error> {
        let files = yidi_trust::tls::TlsFiles::load(&self.dir.join("keys"), party).unwrap();
        let tls = yidi_runtime::health::client_tls(&files, service);
        let address = format!("https://127.0.0.1:{}", self.grpc_port(service));
        tonic::transport::Channel::from_shared(address).unwrap().tls_config(tls)?.connect().await
    }

    /// Starts `name` and waits until it serves.
    pub fn spawn(&mut self, name: &'static str) {
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut hub_env: Vec<(&str, String)> = Vec::new();
        if name == "hub" {
            hub_env.push(("YIDI_DASHBOARD", format!("127.0.0.1:{}", self.dashboard)));
            if let Some(start) = &self.clock_start {
                hub_env.push(("YIDI_CLOCK_START", start.clone()));
            }
        }
        let mut trace_env: Vec<(&str, String)> = Vec::new();
        if let Some(endpoint) = &self.otlp {
            trace_env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.clone()));
            // Spans leave every 200 ms instead of every 5 s, so a test need not wait.
            trace_env.push(("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()));
        }
        let mut scale_env: Vec<(&str, String)> = Vec::new();
        if let Some(partitions) = self.partitions {
            scale_env.push(("YIDI_PARTITIONS", partitions.to_string()));
        }
        let service = self.services.get_mut(name).unwrap();
        if let Some(instance) = service.instance {
            scale_env.push(("YIDI_INSTANCE", instance.to_owned()));
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{name}.log")))
            .unwrap();
        let child = Command::new(binaries().join(service.binary))
            .arg("--config")
            .arg(repo.join(format!("deploy/config/local/{}.toml", service.config)))
            .env("YIDI_BROKERS", &self.brokers)
            .env(
                "YIDI_DATABASE",
                format!("sqlite://{}", self.dir.join(format!("{}.db", service.database)).display()),
            )
            .env("YIDI_GRPC", format!("127.0.0.1:{}", service.grpc))
            .env("YIDI_METRICS", format!("127.0.0.1:{}", service.metrics))
            .env("YIDI_KEYS", self.dir.join("keys"))
            .env("RUST_LOG", "warn")
            .envs(hub_env)
            .envs(trace_env)
            .envs(scale_env)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting {name} from {}: {e} (make test builds the binaries first)",
                    binaries().display()
                )
            });
        service.child = Some(child);
        wait_port(service.grpc, name);
        wait_ready(service.metrics, name);
    }

    /// `yidi trace <id>` over this network's databases, as an operator runs it: its output.
    pub fn trace(&self, id: &str) -> String {
        let output = Command::new(binaries().join("yidi"))
            .args(["trace", "--data"])
            .arg(&self.dir)
            .arg(id)
            .output()
            .unwrap();
        assert!(output.status.success(), "yidi trace: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }

    /// The port of `name`'s `/metrics` and `/ready`.
    pub fn metrics_port(&self, name: &str) -> u16 {
        self.services[name].metrics
    }

    /// `name`'s metrics as Prometheus would scrape them.
    pub fn metrics(&self, name: &str) -> String {
        let (status, body) = http_get(self.metrics_port(name), "/metrics")
            .unwrap_or_else(|| panic!("{name}: /metrics does not answer"));
        assert_eq!(status, 200, "{name}: /metrics answered {status}: {body}");
        body
    }

    /// SIGKILL of the broker: whatever it had not written is gone.
    pub fn kill_broker(&mut self) {
        let _ = self.broker.kill();
        let _ = self.broker.wait();
    }

    /// The broker again, on the same port and data.
    pub fn restart_broker(&mut self) {
        self.broker = start_broker(&self.dir, &self.brokers);
        let port = self.brokers.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap();
        wait_port(port, "broker");
    }

    /// SIGKILL: no shutdown, no offset commit, nothing flushed.
    pub fn kill(&mut self, name: &str) {
        let service = self.services.get_mut(name).unwrap();
        if let Some(mut child) = service.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    pub fn grpc_port(&self, name: &str) -> u16 {
        self.services[name].grpc
    }

    pub fn database(&self, name: &str) -> String {
        format!("sqlite://{}", self.dir.join(format!("{name}.db")).display())
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let names: Vec<&'static str> = self.services.keys().copied().collect();
        for name in names {
            self.kill(name);
        }
        let _ = self.broker.kill();
        let _ = self.broker.wait();
        if self.keep_data || std::thread::panicking() {
            eprintln!("e2e: logs and data kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The network's services, each on ports of its own: the hub, two agencies hosting the four
/// insured regions, and the exchanges of four treatment provinces.
fn services() -> BTreeMap<&'static str, Service> {
    let roles = [
        ("hub", "yidi-hub"),
        ("agency-north", "yidi-agency"),
        ("agency-south", "yidi-agency"),
        ("exchange-440000", "yidi-exchange"),
        ("exchange-310000", "yidi-exchange"),
        ("exchange-110000", "yidi-exchange"),
        ("exchange-330000", "yidi-exchange"),
    ];
    roles
        .into_iter()
        .map(|(name, binary)| {
            let service = Service {
                binary,
                config: name,
                instance: None,
                database: name,
                grpc: free_port(),
                metrics: free_port(),
                child: None,
            };
            (name, service)
        })
        .collect()
}
