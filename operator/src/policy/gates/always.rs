//! Gate `always`: fires unconditionally. Used to stop everything a mapping selects, or to test
//! mappings and whitelists.

use super::Output;
use crate::policy::facts::Facts;
use crate::policy::params::{GateDoc, Params, TriggerDoc};

pub const DOC: GateDoc = GateDoc {
    name: "always",
    description: "Triggers that fire unconditionally if present in a policy: for blacklisting every image a mapping selects, or testing mappings and whitelists.",
    triggers: &[TriggerDoc::new(
        "always",
        "Fires once for every image the policy is evaluated against.",
        &[],
    )],
};

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    Always,
}

pub(crate) fn validate(_trigger: &'static TriggerDoc, _p: &mut Params<'_>) -> Option<Check> {
    Some(Check::Always)
}

pub(crate) fn evaluate(check: &Check, _facts: &Facts<'_>, out: &mut Output) {
    match check {
        Check::Always => out.fire("Unconditional trigger match".into()),
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::testing::{fired, rule_errors};

    #[test]
    fn fires_once_and_takes_no_params() {
        assert_eq!(
            fired("always", "always", &[]),
            vec!["Unconditional trigger match"]
        );
        assert_eq!(
            rule_errors("always", "always", &[("x", "1")]),
            vec!["unknown-param r.params[0]"]
        );
    }
}
