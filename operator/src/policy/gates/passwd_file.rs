//! Gate `passwd_file`: the image's `/etc/passwd`, as retrieved at analysis (the analyzer
//! retrieves it by default).
//!
//! Traps: the file is read from the analysis's retrieved files, not the file index; if it was
//! not retrieved (or is not in the image) only `content_not_available` fires, every other
//! trigger stays silent. Lines with fewer than seven fields are skipped. Ids compare as the
//! numbers written in the file (`0`, not `00`).

use super::Output;
use crate::policy::facts::{Facts, PasswdEntry};
use crate::policy::params::{GateDoc, ParamDoc, ParamKind, Params, TriggerDoc};

pub const DOC: GateDoc = GateDoc {
    name: "passwd_file",
    description: "Content checks of /etc/passwd: user names, user and group ids, shells or whole entries.",
    triggers: &[
        TriggerDoc::new(
            "content_not_available",
            "Triggers if /etc/passwd was not retrieved from the image.",
            &[],
        ),
        TriggerDoc::new(
            "blacklist_usernames",
            "Triggers for each listed user name found in /etc/passwd.",
            &[ParamDoc::new(
                "user_names",
                ParamKind::StringList,
                "daemon,ftp",
                "User names.",
            )
            .aliases(&["usernameblacklist"])
            .required()],
        ),
        TriggerDoc::new(
            "blacklist_userids",
            "Triggers for each listed user id found in /etc/passwd.",
            &[
                ParamDoc::new("user_ids", ParamKind::IntegerList, "0,1", "User ids.")
                    .aliases(&["useridblacklist"])
                    .required(),
            ],
        ),
        TriggerDoc::new(
            "blacklist_groupids",
            "Triggers for each listed group id found in /etc/passwd.",
            &[
                ParamDoc::new("group_ids", ParamKind::IntegerList, "999,20", "Group ids.")
                    .required(),
            ],
        ),
        TriggerDoc::new(
            "blacklist_shells",
            "Triggers for each user whose login shell is listed.",
            &[ParamDoc::new(
                "shells",
                ParamKind::StringList,
                "/bin/bash,/bin/zsh",
                "Shells.",
            )
            .required()],
        ),
        TriggerDoc::new(
            "blacklist_full_entry",
            "Triggers if the exact entry is found in /etc/passwd.",
            &[ParamDoc::new(
                "entry",
                ParamKind::String,
                "ftp:x:14:50:FTP User:/var/ftp:/sbin/nologin",
                "A whole /etc/passwd line.",
            )
            .required()],
        ),
    ],
};

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    ContentNotAvailable,
    Usernames(Vec<String>),
    Userids(Vec<u64>),
    Groupids(Vec<u64>),
    Shells(Vec<String>),
    FullEntry(String),
}

pub(crate) fn validate(trigger: &'static TriggerDoc, p: &mut Params<'_>) -> Option<Check> {
    match trigger.name {
        "content_not_available" => Some(Check::ContentNotAvailable),
        "blacklist_usernames" => Some(Check::Usernames(p.list("user_names")?.to_vec())),
        "blacklist_userids" => Some(Check::Userids(p.ints("user_ids")?.to_vec())),
        "blacklist_groupids" => Some(Check::Groupids(p.ints("group_ids")?.to_vec())),
        "blacklist_shells" => Some(Check::Shells(p.list("shells")?.to_vec())),
        "blacklist_full_entry" => Some(Check::FullEntry(p.str("entry")?.trim().to_owned())),
        _ => None,
    }
}

fn number_in(field: &str, list: &[u64]) -> bool {
    field.trim().parse::<u64>().is_ok_and(|n| list.contains(&n))
}

pub(crate) fn evaluate(check: &Check, facts: &Facts<'_>, out: &mut Output) {
    let Some(entries) = facts.passwd() else {
        if *check == Check::ContentNotAvailable {
            out.fire(
                "Cannot locate /etc/passwd in image stored files archive: check analyzer settings."
                    .into(),
            );
        }
        return;
    };
    let report = |out: &mut Output, what: &str, value: &str, e: &PasswdEntry| {
        out.fire(format!(
            "Blacklisted {what} '{value}' found in image's /etc/passwd: pentry={}",
            e.line
        ));
    };
    for e in entries {
        match check {
            Check::ContentNotAvailable => return,
            Check::Usernames(list) if list.contains(&e.name) => report(out, "user", &e.name, e),
            Check::Userids(list) if number_in(&e.uid, list) => report(out, "uid", &e.uid, e),
            Check::Groupids(list) if number_in(&e.gid, list) => report(out, "gid", &e.gid, e),
            Check::Shells(list) if list.contains(&e.shell) => report(out, "shell", &e.shell, e),
            Check::FullEntry(entry) if *entry == e.line => report(out, "pentry", entry, e),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::testing::{Scenario, fired, fired_in, rule_errors};

    #[test]
    fn entries_of_the_real_passwd() {
        assert!(fired("passwd_file", "content_not_available", &[]).is_empty());
        assert_eq!(
            fired(
                "passwd_file",
                "blacklist_usernames",
                &[("user_names", "app,ftp")]
            ),
            vec![
                "Blacklisted user 'app' found in image's /etc/passwd: pentry=app:x:1000:1000:App:/home/app:/bin/sh"
            ]
        );
        assert_eq!(
            fired(
                "passwd_file",
                "blacklist_userids",
                &[("useridblacklist", "0")]
            ),
            vec![
                "Blacklisted uid '0' found in image's /etc/passwd: pentry=root:x:0:0:root:/root:/bin/bash"
            ]
        );
        assert_eq!(
            fired(
                "passwd_file",
                "blacklist_groupids",
                &[("group_ids", "1000,65534")]
            )
            .len(),
            4
        );
        assert_eq!(
            fired(
                "passwd_file",
                "blacklist_shells",
                &[("shells", "/bin/bash,/bin/sh")]
            )
            .len(),
            2
        );
        assert_eq!(
            fired(
                "passwd_file",
                "blacklist_full_entry",
                &[("entry", "root:x:0:0:root:/root:/bin/bash")]
            )
            .len(),
            1
        );
        assert!(
            fired(
                "passwd_file",
                "blacklist_full_entry",
                &[("entry", "root:x:0:0:root:/root")]
            )
            .is_empty()
        );
    }

    #[test]
    fn without_the_file() {
        let mut s = Scenario::new();
        s.analysis
            .retrieved_files
            .retain(|f| f.path != "/etc/passwd");
        assert_eq!(
            fired_in("passwd_file", "content_not_available", &[], &s).len(),
            1
        );
        assert!(fired_in("passwd_file", "blacklist_userids", &[("user_ids", "0")], &s).is_empty());
    }

    #[test]
    fn params() {
        assert_eq!(
            rule_errors("passwd_file", "blacklist_userids", &[("user_ids", "root")]),
            vec!["param-wrong-type r.params[0].value"]
        );
        assert_eq!(
            rule_errors("passwd_file", "blacklist_shells", &[]),
            vec!["missing-param r.params"]
        );
    }
}
