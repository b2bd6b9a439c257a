//! yidi's wire format: the protobuf messages of `proto/yidi/v1`, their proto3-JSON mapping,
//! the Kafka header names, and conversions between messages and domain values.
//!
//! # Layout
//! - [`v1`]: the generated messages and gRPC services (prost + tonic, through protox).
//! - [`codec`]: encode and decode by content type (protobuf or proto3 JSON).
//! - [`headers`]: the header names every message carries.

pub mod codec;
pub mod convert;
pub mod headers;

/// The generated types of package `yidi.v1`.
#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/yidi.v1.rs"));
    include!(concat!(env!("OUT_DIR"), "/yidi.v1.serde.rs"));
}

/// The encoded descriptors of every schema, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/yidi_descriptor.bin"));
