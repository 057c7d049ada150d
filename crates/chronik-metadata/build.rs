//! Generates the protobuf types and gRPC services with protox (pure Rust, no system `protoc`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/metadata.proto",
        "proto/raft_peer.proto",
        "proto/controller.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let fds = protox::compile(protos, ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // BTreeMap keeps map fields ordered, so encoding is deterministic (snapshot bytes).
        .btree_map(".")
        .compile_fds(fds)?;
    Ok(())
}
