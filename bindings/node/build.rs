//! napi-build sets up linking for a Node addon (the `napi_*` symbols stay undefined and are
//! resolved from the node binary at load time) and re-runs when the type-definition folder
//! (`NAPI_TYPE_DEF_TMP_FOLDER`, set by node/scripts/build.js) changes.
fn main() {
    napi_build::setup();
}
