fn main() {
    // Sets the linker flags an N-API addon needs on every platform (on macOS the addon
    // resolves Node's symbols at load time).
    napi_build::setup();
}
