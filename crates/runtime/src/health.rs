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
