//! ID.me's attribute payloads (SPEC section 7).

use serde::{Deserialize, Serialize};

/// One released attribute; `value` keeps its JSON type, `null` when the user lacks it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    pub handle: String,
    pub name: String,
    pub value: serde_json::Value,
}

/// The verification status of one group policy that was granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStatus {
    pub group: String,
    pub subgroups: Vec<String>,
    pub verified: bool,
}

/// `GET /api/public/v3/attributes.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributesResponse {
    pub attributes: Vec<Attribute>,
    pub status: Vec<GroupStatus>,
}

/// A group a policy verifies, in the `policies` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyGroup {
    pub name: String,
    pub handle: String,
    pub subgroups: Vec<String>,
}

/// One element of `GET /api/public/v3/policies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyResponse {
    pub name: String,
    pub handle: String,
    pub active: bool,
    pub groups: Vec<PolicyGroup>,
}
