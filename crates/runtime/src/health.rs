//! A service's gRPC server: TLS with client certificates of the network (issue #11 §5),
//! health (`grpc.health.v1`) and reflection, so that `grpcurl` and orchestrators holding a
//! certificate can ask whether it is serving; and who called ([`caller`]).

use tonic_health::server::HealthReporter;

/// Whether a service is ready (issue #12 §4): NOT_SERVING from start until its store is open
/// and its consumer has its partitions, SERVING then, NOT_SERVING again once shutdown is
/// asked. gRPC health says it (for the whole server, `""`, and for the service's API), and so
/// does `/ready` beside the metrics ([`crate::metrics`]), which `make up` waits on.
#[derive(Clone)]
pub struct Readiness {
    reporter: HealthReporter,
    api: Option<&'static str>,
    state: std::sync::Arc<std::sync::atomic::AtomicU8>,
}

/// What [`Readiness`] says, as `/ready` answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ready {
    Starting,
    Serving,
    Stopping,
}

impl Readiness {
    /// A service starting: NOT_SERVING until [`Readiness::ready`].
    pub async fn starting(reporter: HealthReporter, api: Option<&'static str>) -> Readiness {
        let readiness = Readiness { reporter, api, state: std::sync::Arc::default() };
        readiness.set(Ready::Starting).await;
        readiness
    }

    /// The store is open and the consumer assigned: serving.
    pub async fn ready(&self) {
        self.set(Ready::Serving).await;
    }

    /// Shutdown was asked: no longer serving.
    pub async fn stopping(&self) {
        self.set(Ready::Stopping).await;
    }

    pub fn now(&self) -> Ready {
        match self.state.load(std::sync::atomic::Ordering::Acquire) {
            1 => Ready::Serving,
            2 => Ready::Stopping,
            _ => Ready::Starting,
        }
    }

    async fn set(&self, ready: Ready) {
        let (code, status) = match ready {
            Ready::Starting => (0, tonic_health::ServingStatus::NotServing),
            Ready::Serving => (1, tonic_health::ServingStatus::Serving),
            Ready::Stopping => (2, tonic_health::ServingStatus::NotServing),
        };
        self.state.store(code, std::sync::atomic::Ordering::Release);
        self.reporter.set_service_status("", status).await;
        if let Some(api) = self.api {
            self.reporter.set_service_status(api, status).await;
        }
    }
}

/// gRPC reflection over yidi's schemas, listing only `services` (and health and reflection
/// themselves), served as `v1` and as `v1alpha` for clients that still ask for it (older
/// grpcurl, Python's grpcio-reflection).
fn reflection(
    services: &[&'static str],
) -> Result<
    (
        tonic_reflection::server::v1::ServerReflectionServer<
            impl tonic_reflection::server::v1::ServerReflection,
        >,
        tonic_reflection::server::v1alpha::ServerReflectionServer<
            impl tonic_reflection::server::v1alpha::ServerReflection,
        >,
    ),
    tonic_reflection::server::Error,
> {
    let builder = || {
        let mut builder = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(yidi_wire::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name(HEALTH_SERVICE)
            .with_service_name("grpc.reflection.v1.ServerReflection")
            .with_service_name("grpc.reflection.v1alpha.ServerReflection");
        for service in services {
            builder = builder.with_service_name(*service);
        }
        builder
    };
    Ok((builder().build_v1()?, builder().build_v1alpha()?))
}

/// The name gRPC health is served under.
const HEALTH_SERVICE: &str = "grpc.health.v1.Health";

/// The TLS of a service's gRPC server: its own certificate, and a client certificate issued by
/// the network's TLS root required of every caller.
pub fn server_tls(files: &yidi_trust::tls::TlsFiles) -> tonic::transport::ServerTlsConfig {
    use tonic::transport::{Certificate, Identity, ServerTlsConfig};
    ServerTlsConfig::new()
        .identity(Identity::from_pem(&files.certificate, &files.key))
        .client_ca_root(Certificate::from_pem(&files.ca))
}

/// The TLS of a client of yidi's gRPC: the network's TLS root, and the caller's own
/// certificate. `server` is the name of the party called (`exchange-440000`), which its
/// certificate carries whatever address it is reached at.
pub fn client_tls(
    files: &yidi_trust::tls::TlsFiles,
    server: &str,
) -> tonic::transport::ClientTlsConfig {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};
    ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&files.ca))
        .identity(Identity::from_pem(&files.certificate, &files.key))
        .domain_name(server)
}

/// Who called: the party named by the client certificate the TLS layer verified.
#[derive(Clone, Debug)]
pub struct Caller {
    pub subject: String,
    pub role: yidi_trust::Role,
}

/// The caller of `request`, or `UNAUTHENTICATED` when it came without a certificate of the
/// network (a server without TLS, as in-process tests call handlers, has none either).
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Caller, tonic::Status> {
    let certificates = request.peer_certs();
    let first = certificates.as_deref().and_then(|c| c.first()).ok_or_else(|| {
        tonic::Status::unauthenticated("a client certificate of the network is required")
    })?;
    let (subject, role) = yidi_trust::tls::peer(first.as_ref())
        .map_err(|error| tonic::Status::unauthenticated(error.to_string()))?;
    Ok(Caller { subject, role })
}

/// Serves `routes` (a service's gRPC API, if any) with health and reflection on `address`
/// over `tls` until shutdown, and answers how ready the service is. `name` is the API's
/// service name for health and reflection (`yidi.v1.Exchange`). Health says NOT_SERVING until
/// the caller says [`Readiness::ready`], and again from the shutdown request on. A TLS
/// configuration that cannot be used fails here, at start. The server is one of `shutdown`'s
/// tasks: it stops taking calls at the stop request and ends when the open ones are answered.
pub async fn serve(
    address: std::net::SocketAddr,
    tls: tonic::transport::ServerTlsConfig,
    routes: Option<(tonic::service::Routes, &'static str)>,
    shutdown: &crate::shutdown::Shutdown,
) -> Result<Readiness, tonic::transport::Error> {
    // Each call is a span, the child of the caller's `traceparent` (when tracing is on).
    let mut server = tonic::transport::Server::builder()
        .trace_fn(crate::telemetry::request_span)
        .tls_config(tls)?;
    let (reporter, health) = tonic_health::server::health_reporter();
    let api = routes.as_ref().map(|(_, name)| *name);
    let readiness = Readiness::starting(reporter, api).await;
    let mut all = match routes {
        Some((routes, _)) => routes.add_service(health),
        None => tonic::service::Routes::new(health),
    };
    match reflection(api.as_slice()) {
        Ok((v1, v1alpha)) => all = all.add_service(v1).add_service(v1alpha),
        Err(error) => tracing::warn!(%error, "gRPC reflection unavailable"),
    }
    let stopping = readiness.clone();
    let stop = shutdown.requested();
    shutdown.spawn(async move {
        let router = server.add_routes(all);
        let requested = async move {
            stop.await;
            stopping.stopping().await;
        };
        if let Err(error) = router.serve_with_shutdown(address, requested).await {
            tracing::error!(%error, %address, "gRPC server stopped");
        }
    });
    Ok(readiness)
}

#[cfg(test)]
mod tests {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_server::Health;
    use tonic_health::pb::HealthCheckRequest;

    use super::{Readiness, Ready};

    async fn status(health: &impl Health, service: &str) -> i32 {
        let request = tonic::Request::new(HealthCheckRequest { service: service.to_owned() });
        health.check(request).await.map(|answer| answer.into_inner().status).unwrap_or(-1)
    }

    #[tokio::test]
    async fn health_says_serving_only_between_ready_and_shutdown() {
        let (reporter, _) = tonic_health::server::health_reporter();
        let health = tonic_health::server::HealthService::from_health_reporter(reporter.clone());
        let readiness = Readiness::starting(reporter, Some("yidi.v1.Agency")).await;
        let not_serving = i32::from(ServingStatus::NotServing);
        assert_eq!(readiness.now(), Ready::Starting);
        assert_eq!(status(&health, "").await, not_serving, "before the consumer is assigned");
        assert_eq!(status(&health, "yidi.v1.Agency").await, not_serving);
        readiness.ready().await;
        assert_eq!(readiness.now(), Ready::Serving);
        assert_eq!(status(&health, "").await, i32::from(ServingStatus::Serving));
        assert_eq!(status(&health, "yidi.v1.Agency").await, i32::from(ServingStatus::Serving));
        readiness.stopping().await;
        assert_eq!(readiness.now(), Ready::Stopping);
        assert_eq!(status(&health, "").await, not_serving, "while shutting down");
    }

    #[test]
    fn reflection_lists_only_the_services_a_server_implements() {
        // Builds for both protocol versions; the exchange's list does not name the agency.
        assert!(super::reflection(&["yidi.v1.Exchange"]).is_ok());
        assert!(super::reflection(&[]).is_ok());
    }
}
