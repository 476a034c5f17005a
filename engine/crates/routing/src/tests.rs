use super::*;

fn rule(id: &str, priority: i32, pattern: &str) -> Rule {
    Rule {
        id: id.to_owned(),
        name: format!("rule {id}"),
        application: "app".to_owned(),
        priority,
        pattern: pattern.to_owned(),
        exclude: None,
        from: None,
        headers: Vec::new(),
        scenarios: vec!["main".to_owned()],
    }
}

fn hdr(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

fn winner<'a>(set: &'a RuleSet, to: &str) -> Option<&'a str> {
    set.match_invite(to, "alice", &[]).map(|r| r.id.as_str())
}

#[test]
fn pattern_must_match_whole_destination() {
    let set = RuleSet::compile(vec![rule("a", 0, r"1\d{3}")]).unwrap();
    assert_eq!(winner(&set, "1234"), Some("a"));
    assert_eq!(winner(&set, "12345"), None);
    assert_eq!(winner(&set, "91234"), None);
    assert_eq!(winner(&set, ""), None);
}

#[test]
fn alternation_stays_inside_the_anchors() {
    let set = RuleSet::compile(vec![rule("a", 0, "100|200")]).unwrap();
    assert_eq!(winner(&set, "100"), Some("a"));
    assert_eq!(winner(&set, "200"), Some("a"));
    assert_eq!(winner(&set, "1000"), None);
    assert_eq!(winner(&set, "0200"), None);
}

#[test]
fn highest_priority_wins() {
    let set = RuleSet::compile(vec![
        rule("a", 1, ".*"),
        rule("b", 10, r"\d+"),
        rule("c", 5, r"\d+"),
    ])
    .unwrap();
    assert_eq!(winner(&set, "42"), Some("b"));
    assert_eq!(winner(&set, "bob"), Some("a"));
    let order: Vec<_> = set.rules().map(|r| r.id.as_str()).collect();
    assert_eq!(order, ["b", "c", "a"]);
}

#[test]
fn ties_go_to_lower_id_then_insertion_order() {
    let set = RuleSet::compile(vec![rule("b", 3, ".*"), rule("a", 3, ".*")]).unwrap();
    assert_eq!(winner(&set, "x"), Some("a"));

    let mut first = rule("same", 3, "x");
    first.name = "first".to_owned();
    let mut second = rule("same", 3, "x");
    second.name = "second".to_owned();
    let set = RuleSet::compile(vec![first, second]).unwrap();
    assert_eq!(set.match_invite("x", "", &[]).unwrap().name, "first");
}

#[test]
fn negative_priorities_order_correctly() {
    let set = RuleSet::compile(vec![rule("a", -5, ".*"), rule("b", -1, ".*")]).unwrap();
    assert_eq!(winner(&set, "x"), Some("b"));
}

#[test]
fn exclude_wins_over_pattern_and_falls_through() {
    let mut vip = rule("vip", 10, r"\d+");
    vip.exclude = Some("911|112".to_owned());
    let set = RuleSet::compile(vec![vip, rule("fallback", 0, ".*")]).unwrap();
    assert_eq!(winner(&set, "5550100"), Some("vip"));
    assert_eq!(winner(&set, "911"), Some("fallback"));
    // The exclude pattern is whole-match too: 9110 is not excluded.
    assert_eq!(winner(&set, "9110"), Some("vip"));
}

#[test]
fn from_pattern_narrows_the_match() {
    let mut r = rule("a", 0, ".*");
    r.from = Some(r"\+44\d+".to_owned());
    let set = RuleSet::compile(vec![r]).unwrap();
    assert!(set.match_invite("100", "+442071234567", &[]).is_some());
    assert!(set.match_invite("100", "+12025550100", &[]).is_none());
    assert!(set.match_invite("100", "x+441", &[]).is_none());
}

#[test]
fn header_names_are_case_insensitive_and_values_whole_match() {
    let mut r = rule("a", 0, ".*");
    r.headers = vec![hdr("X-Tenant", "acme|globex")];
    let set = RuleSet::compile(vec![r]).unwrap();
    assert!(set
        .match_invite("1", "f", &[hdr("x-tenant", "acme")])
        .is_some());
    assert!(set
        .match_invite("1", "f", &[hdr("X-TENANT", "globex")])
        .is_some());
    assert!(set
        .match_invite("1", "f", &[hdr("x-tenant", "acme-corp")])
        .is_none());
    assert!(set.match_invite("1", "f", &[]).is_none());
    // Any header of that name may satisfy the pattern.
    assert!(set
        .match_invite(
            "1",
            "f",
            &[hdr("X-Tenant", "other"), hdr("x-tenant", "acme")]
        )
        .is_some());
}

#[test]
fn every_header_condition_must_hold() {
    let mut r = rule("a", 0, ".*");
    r.headers = vec![hdr("X-A", "1"), hdr("X-B", "2")];
    let set = RuleSet::compile(vec![r]).unwrap();
    assert!(set
        .match_invite("1", "f", &[hdr("x-a", "1"), hdr("x-b", "2")])
        .is_some());
    assert!(set.match_invite("1", "f", &[hdr("x-a", "1")]).is_none());
}

#[test]
fn no_rules_no_match() {
    let set = RuleSet::compile(Vec::new()).unwrap();
    assert!(set.is_empty());
    assert_eq!(winner(&set, "1"), None);
}

#[test]
fn invalid_pattern_reports_rule_field_and_message() {
    let err = RuleSet::compile(vec![rule("ok", 0, ".*"), rule("bad", 0, "(12")]).unwrap_err();
    match &err {
        RuleError::Invalid {
            rule,
            field,
            message,
        } => {
            assert_eq!(rule, "bad");
            assert_eq!(*field, RuleField::Pattern);
            assert!(message.contains("unclosed group"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.starts_with("rule \"bad\": invalid regular expression in pattern: "),
        "{text}"
    );
}

#[test]
fn invalid_exclude_from_and_header_patterns_are_rejected() {
    let mut r = rule("x", 0, ".*");
    r.exclude = Some("[".to_owned());
    let err = validate(&r).unwrap_err();
    assert!(matches!(
        err,
        RuleError::Invalid {
            field: RuleField::Exclude,
            ..
        }
    ));

    let mut r = rule("x", 0, ".*");
    r.from = Some("*".to_owned());
    let err = validate(&r).unwrap_err();
    assert!(matches!(
        err,
        RuleError::Invalid {
            field: RuleField::From,
            ..
        }
    ));

    let mut r = rule("x", 0, ".*");
    r.headers = vec![hdr("X-A", "a{2,1}")];
    let err = validate(&r).unwrap_err();
    assert!(matches!(
        err,
        RuleError::Invalid {
            field: RuleField::Header,
            ..
        }
    ));

    let mut r = rule("x", 0, ".*");
    r.headers = vec![hdr(" ", "a")];
    assert_eq!(
        validate(&r).unwrap_err(),
        RuleError::EmptyHeaderName {
            rule: "x".to_owned()
        }
    );
}

#[test]
fn overlong_pattern_is_rejected_before_compiling() {
    let long = "1".repeat(MAX_PATTERN_LEN + 1);
    let err = validate(&rule("x", 0, &long)).unwrap_err();
    assert_eq!(
        err,
        RuleError::TooLong {
            rule: "x".to_owned(),
            field: RuleField::Pattern,
            len: MAX_PATTERN_LEN + 1,
            max: MAX_PATTERN_LEN,
        }
    );
    assert!(err.to_string().contains("1024 byte limit"));
    // Exactly at the limit is fine.
    validate(&rule("x", 0, &"1".repeat(MAX_PATTERN_LEN))).unwrap();
}

#[test]
fn huge_compiled_pattern_is_rejected() {
    // Short source, enormous automaton: the size limit must catch it.
    let err = validate(&rule("x", 0, r"(\w{1000}){1000}")).unwrap_err();
    match err {
        RuleError::Invalid { message, .. } => {
            assert!(message.contains("size limit"), "{message}")
        }
        other => panic!("unexpected {other:?}"),
    }
}
