//! Generates the etcd KV client from the minimal proto in `proto/` with
//! protox (no `protoc` needed).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/etcd/kv.proto");
    let descriptors = protox::compile(["etcd/kv.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .build_server(false)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
