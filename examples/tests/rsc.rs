//! `.rsc` parser: generated commands written with `to_rsc` parse back to themselves, and
//! arbitrary text never panics the parser.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use examples::rsc::{parse, Command, Target};
use proptest::prelude::*;

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,12}"
}

fn any_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9./:@+,_-]{1,20}",
        // Anything printable, quotes, backslashes, dollars, spaces, tabs and newlines.
        proptest::collection::vec(
            prop_oneof![
                proptest::char::range(' ', '~'),
                Just('\t'),
                Just('\n'),
                Just('\u{e9}')
            ],
            0..24
        )
        .prop_map(|v| v.into_iter().collect::<String>()),
    ]
}

fn command() -> impl Strategy<Value = Command> {
    (
        proptest::collection::vec(word(), 1..4),
        prop_oneof![Just("add"), Just("set"), Just("remove")],
        prop_oneof![
            Just(None),
            (0u32..100).prop_map(|i| Some(Target::Index(i))),
            "[a-z][a-z0-9]{0,8}".prop_map(|n| Some(Target::Name(n))),
            proptest::collection::vec((word(), any_value()), 1..3)
                .prop_map(|c| Some(Target::Find(c))),
        ],
        proptest::collection::vec((word(), any_value()), 0..6),
    )
        .prop_map(|(menu, verb, target, props)| {
            let target = if verb == "add" { None } else { target };
            Command {
                line: 1,
                menu,
                verb: verb.to_string(),
                target,
                props,
                args: Vec::new(),
            }
        })
        // A menu word that is itself a verb would read as the command.
        .prop_filter("menu words are not verbs", |c| {
            c.menu.iter().all(|m| {
                !matches!(
                    m.as_str(),
                    "add"
                        | "set"
                        | "remove"
                        | "print"
                        | "export"
                        | "enable"
                        | "disable"
                        | "edit"
                        | "find"
                        | "get"
                        | "unset"
                        | "reset"
                        | "monitor"
                        | "scan"
                        | "comment"
                        | "move"
                        | "import"
                        | "refresh"
                )
            })
        })
}

proptest! {
    #[test]
    fn to_rsc_parses_back(c in command()) {
        let text = c.to_rsc();
        let back = parse(&text).unwrap();
        prop_assert_eq!(back.len(), 1, "{}", text);
        prop_assert_eq!(&back[0], &c, "{}", text);
    }

    #[test]
    fn several_commands_keep_their_lines(cs in proptest::collection::vec(command(), 1..5)) {
        let text: String = cs.iter().map(|c| c.to_rsc() + "\n").collect();
        let back = parse(&text).unwrap();
        prop_assert_eq!(back.len(), cs.len());
        for (i, (b, c)) in back.iter().zip(&cs).enumerate() {
            prop_assert_eq!(b.line, i + 1);
            prop_assert_eq!(&b.props, &c.props);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = parse(&s);
    }
}
