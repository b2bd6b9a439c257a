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

/// Serves health and reflection alone on `address` until shutdown (services whose work is
/// all on Kafka).
pub fn serve(
    address: std::net::SocketAddr,
    shutdown: crate::shutdown::Shutdown,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (reporter, health) = services();
        reporter.set_service_status("", tonic_health::ServingStatus::Serving).await;
        let router = tonic::transport::Server::builder().add_service(health);
        let router = match reflection() {
            Ok(reflection) => router.add_service(reflection),
            Err(error) => {
                tracing::warn!(%error, "gRPC reflection unavailable");
                router
            }
        };
        if let Err(error) = router.serve_with_shutdown(address, shutdown.requested()).await {
            tracing::error!(%error, %address, "health server stopped");
        }
    })
}
