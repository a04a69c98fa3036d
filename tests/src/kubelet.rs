//! placeholder
pub fn node_object() -> serde_json::Value {
    serde_json::json!({"metadata": {"name": "kube-sim-node"}})
}
