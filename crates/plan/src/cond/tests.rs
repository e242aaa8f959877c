//! Conditions: comparisons over JSON, status and variables; errors with their character.
use super::*;
use serde_json::json;

fn check(src: &str, status: Option<u16>, body: &Value, vars: &[&str]) -> bool {
    let names: Vec<String> = ["state", "n"].iter().map(|s| s.to_string()).collect();
    let values: Vec<String> = vars.iter().map(|s| s.to_string()).collect();
    let c = Cond::parse(src, &names).unwrap_or_else(|e| panic!("{e}"));
    c.eval(&Answer {
        status,
        json: Some(body),
        vars: &values,
        last_ok: true,
    })
}

#[test]
fn compares_json_status_and_variables() {
    let op = json!({"currentOperation": {"complete": true, "actionStatus": "SUCCESS", "n": 3},
                    "list": [{"k": "a"}, {"k": "b"}]});
    let cases = [
        ("$.currentOperation.complete == true", true),
        ("$.currentOperation.complete", true),
        ("$.currentOperation.actionStatus == 'SUCCESS'", true),
        ("$.currentOperation.actionStatus != \"FAILURE\"", true),
        (
            "$.currentOperation.n >= 3 && $.currentOperation.n < 4",
            true,
        ),
        ("$.currentOperation.n == '3'", true),
        ("$.missing == null", true),
        ("$.missing", false),
        ("!$.missing", true),
        ("$.missing != 'x'", true),
        ("$.list[?@.k == 'b'].k == 'b'", true),
        ("$.currentOperation.actionStatus =~ '^SUCC'", true),
        ("$.currentOperation.actionStatus !~ '^PEND'", true),
        ("status != 404", true),
        ("status == 200 || status == 201", true),
        ("(status == 404 || $.missing) && true", false),
        ("{state} == 'SUCCESS' && {n} > 2", true),
        ("{state} != 'false'", true),
        ("last_ok", true),
    ];
    for (src, want) in cases {
        assert_eq!(check(src, Some(200), &op, &["SUCCESS", "3"]), want, "{src}");
    }
    assert!(!check("status == 200", None, &op, &["", ""]));
}

#[test]
fn errors_name_the_character_and_suggest() {
    let names = vec!["state".to_string()];
    let e = Cond::parse("{stat} == 'x'", &names).unwrap_err();
    assert_eq!(e.pos, 1);
    assert!(
        e.message.contains("did you mean") && e.message.contains("state"),
        "{e}"
    );
    let e = Cond::parse("statu == 200", &names).unwrap_err();
    assert!(e.message.contains("status"), "{e}");
    let e = Cond::parse("$.a == 'x", &names).unwrap_err();
    assert_eq!(e.pos, 8, "{e}");
    assert!(Cond::parse("$.a[ == 1", &names).is_err());
    assert!(Cond::parse("status == 200 status", &names).is_err());
    assert!(Cond::parse("", &names).is_err());
    assert!(Cond::parse("$.a =~ '('", &names).is_err());
}
