//! gRPC health (`grpc.health.v1`) and reflection for a service, so that `grpcurl` and
//! orchestrators can ask whether it is serving.

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

/// Serves `routes` (a service's gRPC API, if any) with health and reflection on `address`
/// until shutdown. `name` is the API's service name for health (`yidi.v1.Exchange`).
pub fn serve(
    address: std::net::SocketAddr,
    routes: Option<(tonic::service::Routes, &'static str)>,
    shutdown: crate::shutdown::Shutdown,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
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
        let server = tonic::transport::Server::builder().add_routes(all);
        if let Err(error) = server.serve_with_shutdown(address, shutdown.requested()).await {
            tracing::error!(%error, %address, "gRPC server stopped");
        }
    })
}
