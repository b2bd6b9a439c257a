//! A service's gRPC server: TLS with client certificates of the network (issue #11 §5),
//! health (`grpc.health.v1`) and reflection, so that `grpcurl` and orchestrators holding a
//! certificate can ask whether it is serving; and who called ([`caller`]).

use tonic_health::server::HealthReporter;

/// The health service and its reporter; the service is marked serving by the caller once
/// it is ready.
pub fn services() -> (
    HealthReporter,
    tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
) {
    let (reporter, service) = tonic_health::server::health_reporter();
    (reporter, service)
}

/// gRPC reflection over yidi's schemas.
pub fn reflection() -> Result<
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
    tonic_reflection::server::Error,
> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(yidi_wire::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
}

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
/// over `tls` until shutdown. `name` is the API's service name for health
/// (`yidi.v1.Exchange`). A TLS configuration that cannot be used fails here, at start.
pub fn serve(
    address: std::net::SocketAddr,
    tls: tonic::transport::ServerTlsConfig,
    routes: Option<(tonic::service::Routes, &'static str)>,
    shutdown: crate::shutdown::Shutdown,
) -> Result<tokio::task::JoinHandle<()>, tonic::transport::Error> {
    let mut server = tonic::transport::Server::builder().tls_config(tls)?;
    Ok(tokio::spawn(async move {
        let (reporter, health) = services();
        reporter.set_service_status("", tonic_health::ServingStatus::Serving).await;
        let mut all = match routes {
            Some((routes, name)) => {
                reporter.set_service_status(name, tonic_health::ServingStatus::Serving).await;
                routes.add_service(health)
            }
            None => tonic::service::Routes::new(health),
        };
        match reflection() {
            Ok(reflection) => all = all.add_service(reflection),
            Err(error) => tracing::warn!(%error, "gRPC reflection unavailable"),
        }
        let router = server.add_routes(all);
        if let Err(error) = router.serve_with_shutdown(address, shutdown.requested()).await {
            tracing::error!(%error, %address, "gRPC server stopped");
        }
    }))
}
