//! Generates the protobuf types, the gRPC services and their proto3-JSON mapping from
//! `proto/`, with protox (a Rust protobuf compiler), so no system `protoc` is needed.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time, not with `env!`: a build script compiled in one checkout may be
    // reused from a shared CARGO_TARGET_DIR by another checkout at another path.
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        "yidi/v1/envelope.proto",
        "yidi/v1/settlement.proto",
        "yidi/v1/filing.proto",
        "yidi/v1/services.proto",
        "yidi/v1/clearing.proto",
        "yidi/v1/hospital.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    let descriptors = protox::compile(files, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptor_bytes = descriptors.encode_to_vec();
    std::fs::write(out.join("yidi_descriptor.bin"), &descriptor_bytes)?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    // National field names stay as they are in JSON (`mdtrt_id`, not `mdtrtId`); input accepts
    // both spellings.
    pbjson_build::Builder::new()
        .register_descriptors(&descriptor_bytes)?
        .preserve_proto_field_names()
        .build(&[".yidi.v1"])?;
    Ok(())
}
