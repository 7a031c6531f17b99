//! RouterOS export syntax (`.rsc` files): a tokenizer and command parser, and the way back.
//!
//! An administrator holds a router's configuration as export lines:
//!
//! ```text
//! /interface wireguard
//! add listen-port=13231 mtu=1420 name=wireguard1
//! /interface wireguard peers
//! add allowed-address=10.1.101.1/32 endpoint-address=192.168.80.1 endpoint-port=13231 \
//!     interface=wireguard1 public-key="v/oIzPyFm1FPHrqhytZgsKjU7mUToQHLrW+Tb5e601M="
//! /ppp secret set [find name=user1] password="new \"quoted\" one"
//! ```
//!
//! [`parse`] turns such text into [`Command`]s: the menu path (`["interface", "wireguard",
//! "peers"]`), the verb (`add`, `set`, ...), the item a verb names (`[find name=user1]`, a name
//! or a number), and the `key=value` properties in order, each with the line it came from. The
//! protocol crates take those property lists (`&[(&str, &str)]`) through their configs'
//! constructors, so no crate depends on this parser. [`Command::to_rsc`] writes a command back
//! in export form; `parse(to_rsc(c)) == c` (tested below).
//!
//! The syntax handled, from RouterOS's scripting manual and the seeds' examples:
//! * a menu path starts with `/`, in either spelling: `/interface wireguard peers` or
//!   `/interface/wireguard/peers` (or mixed: `/interface wireguard/wg-import`); words after it that are not a command are sub-menus, and
//!   `..` goes one level up. A line without a path stays in the current menu, and one line may
//!   change menu several times (`/ip pool add ... /ppp profile set ...`, as the seeds have it);
//! * `;` separates commands on one line, and so does a verb after a command's properties
//!   (`add name=a add name=b`, as the seeds print it);
//! * `#` starts a comment line; a `\` at the end of a line continues it on the next, whose
//!   leading white space is dropped (inside a quoted string too);
//! * a double-quoted string may span lines (the seeds' `wg-import config-string="..."`); its
//!   line breaks are kept;
//! * values are bare words or double-quoted strings with the escapes `\"` `\\` `\n` `\r` `\t`
//!   `\$` `\?` `\_` (space) `\a` `\b` `\f` `\v` and `\XX` (two hex digits);
//! * `[find ...]` and `[find where ...]` with `key=value` conditions select items.

use std::fmt;

/// The item a verb such as `set` or `remove` applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `[find key=value ...]` (or `[find where key=value ...]`): the conditions, in order.
    Find(Vec<(String, String)>),
    /// A bare item number from `print` (`set 0 ...`).
    Index(u32),
    /// An item name (`set default ...`, `set myServer ...`).
    Name(String),
}

/// One command of an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// Line (1-based) where the command starts.
    pub line: usize,
    /// Menu path, e.g. `["interface", "wireguard", "peers"]`.
    pub menu: Vec<String>,
    /// The verb: `add`, `set`, `remove`, `print`, `import-ovpn-configuration`, ...
    pub verb: String,
    /// The item the verb names, if any.
    pub target: Option<Target>,
    /// `key=value` properties, in their order on the line.
    pub props: Vec<(String, String)>,
    /// Bare words after the verb that are not `key=value` (`scan ether1`, `print detail`).
    pub args: Vec<String>,
}

impl Command {
    /// The menu as RouterOS prints it: `/interface wireguard peers`.
    pub fn menu_path(&self) -> String {
        format!("/{}", self.menu.join(" "))
    }

    /// The value of property `key` (the last one when it repeats).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.props
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The properties as the `&[(&str, &str)]` list the crates' config constructors take.
    pub fn prop_refs(&self) -> Vec<(&str, &str)> {
        self.props
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// The command in export form, on one line: `/menu/path verb [target] key=value ... args`.
    pub fn to_rsc(&self) -> String {
        // The slash spelling (`/interface/wireguard/peers`): a menu word may hold characters
        // (`=`) that would read differently after a space.
        let mut s = format!("/{}", self.menu.join("/"));
        s.push(' ');
        s.push_str(&self.verb);
        match &self.target {
            None => {}
            Some(Target::Index(i)) => s.push_str(&format!(" {i}")),
            Some(Target::Name(n)) => {
                s.push(' ');
                s.push_str(&quote(n));
            }
            Some(Target::Find(conds)) => {
                s.push_str(" [find");
                for (k, v) in conds {
                    s.push_str(&format!(" {k}={}", quote(v)));
                }
                s.push(']');
            }
        }
        // Properties before bare words: a bare word right after the verb would read as its target.
        for (k, v) in &self.props {
            s.push_str(&format!(" {k}={}", quote(v)));
        }
        for a in &self.args {
            s.push(' ');
            s.push_str(&quote(a));
        }
        s
    }
}

/// Why an export could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Line (1-based).
    pub line: usize,
    /// What was wrong.
    pub what: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

impl std::error::Error for ParseError {}

/// A property that a config constructor did not know, reported with the line it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownProperty {
    /// Line (1-based).
    pub line: usize,
    /// The menu, e.g. `/interface wireguard`.
    pub menu: String,
    /// The property name.
    pub key: String,
}

impl fmt::Display for UnknownProperty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {} has no property {:?} here; ignored",
            self.line, self.menu, self.key
        )
    }
}

/// Verbs of RouterOS menus. A word after a menu path that is one of these starts a command;
/// any other word is a sub-menu.
const VERBS: &[&str] = &[
    "add",
    "set",
    "remove",
    "print",
    "export",
    "enable",
    "disable",
    "edit",
    "find",
    "get",
    "unset",
    "reset",
    "reset-counters",
    "monitor",
    "scan",
    "comment",
    "move",
    "import",
    "import-ovpn-configuration",
    "wg-import",
    "show-client-config",
    "generate-key",
    "refresh",
];

/// Verbs whose first positional word names the item they act on.
const TARGETED: &[&str] = &[
    "set", "remove", "enable", "disable", "edit", "unset", "get", "comment", "move", "reset",
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    /// `/a/b`-style path (split on `/`), possibly empty for a lone `/`.
    Path(Vec<String>),
    /// A word without `=`; `true` when it was quoted (a quoted word is never a verb or a menu).
    Word(String, bool),
    /// `key=value`.
    Prop(String, String),
    /// `[find ...]` conditions.
    Find(Vec<(String, String)>),
    /// End of a logical line.
    Eol,
}

/// Join continued lines and record where each logical line started.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 0usize;
    let mut continuing = false;
    // The previous physical line ended inside a quoted string.
    let mut joined_quote = false;
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let piece = if continuing {
            raw.trim_start()
        } else if joined_quote {
            raw
        } else {
            start = i + 1;
            raw
        };
        if let Some(body) = piece.strip_suffix('\\') {
            // An escaped backslash (`\\`) at the end is not a continuation.
            let trailing = body.chars().rev().take_while(|&c| c == '\\').count();
            if trailing % 2 == 0 {
                cur.push_str(body);
                continuing = true;
                continue;
            }
        }
        cur.push_str(piece);
        // A quoted string may hold line breaks (the seeds' `wg-import config-string="..."`):
        // the logical line goes on, the break kept, unless this is a comment line.
        if !cur.trim_start().starts_with('#') && open_quote(&cur) {
            cur.push('\n');
            continuing = false;
            joined_quote = true;
            continue;
        }
        joined_quote = false;
        out.push((start, std::mem::take(&mut cur)));
        continuing = false;
    }
    if continuing || joined_quote {
        // An unterminated quote at the end: the tokenizer reports it, with this line.
        out.push((start, cur));
    }
    out
}

/// Whether `s` ends inside a double-quoted string (a `\` escapes the next character there).
fn open_quote(s: &str) -> bool {
    let mut inside = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => inside = !inside,
            '\\' if inside => {
                chars.next();
            }
            _ => {}
        }
    }
    inside
}

/// Read a quoted string starting after the opening `"`; returns the value and the rest.
fn quoted(s: &str, line: usize) -> Result<(String, &str), ParseError> {
    let mut val = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((val, &s[i + 1..])),
            '\\' => {
                let (_, e) = chars.next().ok_or_else(|| ParseError {
                    line,
                    what: "a quoted string ends in a lone backslash".into(),
                })?;
                match e {
                    '"' | '\\' | '$' | '?' => val.push(e),
                    'n' => val.push('\n'),
                    'r' => val.push('\r'),
                    't' => val.push('\t'),
                    '_' => val.push(' '),
                    'a' => val.push('\x07'),
                    'b' => val.push('\x08'),
                    'f' => val.push('\x0c'),
                    'v' => val.push('\x0b'),
                    h if h.is_ascii_hexdigit() => {
                        let (_, l) = chars.next().ok_or_else(|| ParseError {
                            line,
                            what: "a \\XX escape needs two hex digits".into(),
                        })?;
                        let hi = h.to_digit(16).unwrap_or(0);
                        let lo = l.to_digit(16).ok_or_else(|| ParseError {
                            line,
                            what: format!("bad hex escape \\{h}{l}"),
                        })?;
                        val.push(char::from((hi * 16 + lo) as u8));
                    }
                    other => {
                        return Err(ParseError {
                            line,
                            what: format!("unknown escape \\{other} in a quoted string"),
                        })
                    }
                }
            }
            c => val.push(c),
        }
    }
    Err(ParseError {
        line,
        what: "unterminated quoted string".into(),
    })
}

/// A bare word: up to white space, `]`, or (for keys) `=`.
fn bare(s: &str, stop_at_eq: bool) -> (&str, &str) {
    let end = s
        .find(|c: char| c.is_whitespace() || c == ']' || c == ';' || (stop_at_eq && c == '='))
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// A value after `=`: quoted or bare.
fn value(s: &str, line: usize) -> Result<(String, &str), ParseError> {
    if let Some(q) = s.strip_prefix('"') {
        quoted(q, line)
    } else {
        let (v, rest) = bare(s, false);
        Ok((v.to_string(), rest))
    }
}

/// Whether the tokens so far end in a menu path: a `Path` followed only by unquoted words
/// that are not verbs.
fn in_menu_path(out: &[(usize, Tok)]) -> bool {
    for (_, t) in out.iter().rev() {
        match t {
            Tok::Path(_) => return true,
            Tok::Word(w, false) if !VERBS.contains(&w.as_str()) => {}
            _ => return false,
        }
    }
    false
}

/// Tokens of one logical line.
fn tokens(line_no: usize, line: &str, out: &mut Vec<(usize, Tok)>) -> Result<(), ParseError> {
    let mut s = line.trim_start();
    if s.starts_with('#') {
        return Ok(());
    }
    while !s.is_empty() {
        if let Some(rest) = s.strip_prefix('[') {
            // [find ...] / [find where ...]
            let rest = rest.trim_start();
            let rest = rest.strip_prefix("find").ok_or_else(|| ParseError {
                line: line_no,
                what: "only [find ...] is understood inside brackets".into(),
            })?;
            let mut r = rest.trim_start();
            if let Some(w) = r.strip_prefix("where") {
                if w.starts_with(char::is_whitespace) {
                    r = w.trim_start();
                }
            }
            let mut conds = Vec::new();
            loop {
                r = r.trim_start();
                if let Some(after) = r.strip_prefix(']') {
                    s = after;
                    break;
                }
                if r.is_empty() {
                    return Err(ParseError {
                        line: line_no,
                        what: "unterminated [find ...]".into(),
                    });
                }
                let (k, after) = bare(r, true);
                if k.is_empty() {
                    return Err(ParseError {
                        line: line_no,
                        what: "a [find ...] condition without a name".into(),
                    });
                }
                let after = after.strip_prefix('=').ok_or_else(|| ParseError {
                    line: line_no,
                    what: format!("[find ...] condition {k:?} is not key=value"),
                })?;
                let (v, after) = value(after, line_no)?;
                conds.push((k.to_string(), v));
                r = after;
            }
            out.push((line_no, Tok::Find(conds)));
        } else if let Some(rest) = s.strip_prefix(';') {
            out.push((line_no, Tok::Eol));
            s = rest;
        } else if let Some(q) = s.strip_prefix('"') {
            let (v, rest) = quoted(q, line_no)?;
            out.push((line_no, Tok::Word(v, true)));
            s = rest;
        } else if s.starts_with('/') {
            let (w, rest) = bare(s, false);
            out.push((
                line_no,
                Tok::Path(
                    w.split('/')
                        .filter(|p| !p.is_empty())
                        .map(str::to_string)
                        .collect(),
                ),
            ));
            s = rest;
        } else {
            let (k, rest) = bare(s, true);
            if let Some(after) = rest.strip_prefix('=') {
                if k.is_empty() {
                    return Err(ParseError {
                        line: line_no,
                        what: "a property without a name (`=value`)".into(),
                    });
                }
                let (v, rest) = value(after, line_no)?;
                out.push((line_no, Tok::Prop(k.to_string(), v)));
                s = rest;
            } else if k.is_empty() {
                return Err(ParseError {
                    line: line_no,
                    what: format!("unexpected {:?}", s.chars().next().unwrap_or(' ')),
                });
            } else if k.contains('/') && in_menu_path(out) {
                // A path written half with spaces, half with slashes, as the seeds do
                // (`/interface wireguard/wg-import`): one word per part.
                for part in k.split('/').filter(|p| !p.is_empty()) {
                    out.push((line_no, Tok::Word(part.to_string(), false)));
                }
                s = rest;
            } else {
                out.push((line_no, Tok::Word(k.to_string(), false)));
                s = rest;
            }
        }
        s = s.trim_start();
    }
    out.push((line_no, Tok::Eol));
    Ok(())
}

/// Parse an export into commands. Menu context carries from line to line, as in RouterOS.
pub fn parse(text: &str) -> Result<Vec<Command>, ParseError> {
    let mut toks = Vec::new();
    for (n, l) in logical_lines(text) {
        tokens(n, &l, &mut toks)?;
    }
    let mut menu: Vec<String> = Vec::new();
    let mut cmds = Vec::new();
    let mut cur: Option<Command> = None;
    // After a path, words that are not verbs are sub-menus until a verb appears.
    let mut in_path = false;
    for (line, t) in toks {
        match t {
            Tok::Eol => {
                if let Some(c) = cur.take() {
                    cmds.push(c);
                }
                in_path = false;
            }
            Tok::Path(parts) => {
                if let Some(c) = cur.take() {
                    cmds.push(c);
                }
                // An absolute path replaces the context.
                menu.clear();
                for p in parts {
                    step_menu(&mut menu, p, line)?;
                }
                in_path = true;
            }
            Tok::Word(w, was_quoted) => {
                // A verb after a command that already has properties or a target starts the
                // next command in the same menu (the seeds run `add ... add ...` on one line).
                let next_verb = cur.as_ref().is_some_and(|c| {
                    !was_quoted
                        && (!c.props.is_empty() || c.target.is_some())
                        && VERBS.contains(&w.as_str())
                });
                if next_verb {
                    if let Some(c) = cur.take() {
                        cmds.push(c);
                    }
                }
                if let Some(c) = cur.as_mut() {
                    if c.target.is_none()
                        && c.args.is_empty()
                        && c.props.is_empty()
                        && TARGETED.contains(&c.verb.as_str())
                    {
                        c.target = Some(match w.parse::<u32>() {
                            Ok(i) => Target::Index(i),
                            Err(_) => Target::Name(w),
                        });
                    } else {
                        c.args.push(w);
                    }
                } else if was_quoted {
                    return Err(ParseError {
                        line,
                        what: format!("quoted {w:?} where a command or a menu was expected"),
                    });
                } else if w.contains('/') {
                    // A relative path in the slash form, from the current menu, possibly
                    // ending in the verb (`interface/sstp-client/set add-sni=yes`, seed 000
                    // L942).
                    let parts: Vec<&str> = w.split('/').filter(|p| !p.is_empty()).collect();
                    for (i, p) in parts.iter().enumerate() {
                        if i + 1 == parts.len() && VERBS.contains(p) {
                            cur = Some(Command {
                                line,
                                menu: menu.clone(),
                                verb: p.to_string(),
                                target: None,
                                props: Vec::new(),
                                args: Vec::new(),
                            });
                        } else {
                            step_menu(&mut menu, p.to_string(), line)?;
                        }
                    }
                    in_path = cur.is_none();
                } else if VERBS.contains(&w.as_str()) {
                    cur = Some(Command {
                        line,
                        menu: menu.clone(),
                        verb: w,
                        target: None,
                        props: Vec::new(),
                        args: Vec::new(),
                    });
                    in_path = false;
                } else if in_path || w == ".." {
                    step_menu(&mut menu, w, line)?;
                } else {
                    return Err(ParseError {
                        line,
                        what: format!(
                            "{w:?} is neither a command nor a menu of /{}",
                            menu.join(" ")
                        ),
                    });
                }
            }
            Tok::Prop(k, v) => match cur.as_mut() {
                Some(c) => c.props.push((k, v)),
                None => {
                    return Err(ParseError {
                        line,
                        what: format!("property {k}= before any command"),
                    })
                }
            },
            Tok::Find(conds) => match cur.as_mut() {
                Some(c) if c.target.is_none() => c.target = Some(Target::Find(conds)),
                _ => {
                    return Err(ParseError {
                        line,
                        what: "[find ...] where no command can take it".into(),
                    })
                }
            },
        }
    }
    if let Some(c) = cur.take() {
        cmds.push(c);
    }
    Ok(cmds)
}

fn step_menu(menu: &mut Vec<String>, part: String, line: usize) -> Result<(), ParseError> {
    if part == ".." {
        menu.pop();
    } else if part
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        menu.push(part);
    } else {
        return Err(ParseError {
            line,
            what: format!("{part:?} is not a menu name"),
        });
    }
    Ok(())
}

/// A value in export form: bare when it is a plain word, quoted (with escapes) otherwise.
pub fn quote(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | ',' | ':' | '-' | '_' | '/' | '@' | '+')
        })
        && !VERBS.contains(&v)
        && !v.starts_with('/');
    if plain {
        return v.to_string();
    }
    let mut s = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '$' => s.push_str("\\$"),
            '?' => s.push_str("\\?"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                s.push_str(&format!("\\{:02X}", c as u32));
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn props(c: &Command) -> Vec<(&str, &str)> {
        c.prop_refs()
    }

    #[test]
    fn menu_context_and_continuations() {
        let t = "/interface wireguard\nadd listen-port=13231 mtu=1420 name=wireguard1\n\
                 /interface wireguard peers\nadd allowed-address=10.1.101.1/32 \\\n    \
                 endpoint-port=13231 interface=wireguard1 public-key=\"v/oI+b=\"\n";
        let c = parse(t).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].menu_path(), "/interface wireguard");
        assert_eq!(c[0].verb, "add");
        assert_eq!(c[0].line, 2);
        assert_eq!(
            props(&c[0]),
            [
                ("listen-port", "13231"),
                ("mtu", "1420"),
                ("name", "wireguard1")
            ]
        );
        assert_eq!(c[1].menu, ["interface", "wireguard", "peers"]);
        assert_eq!(c[1].line, 4);
        assert_eq!(c[1].get("public-key"), Some("v/oI+b="));
        assert_eq!(c[1].get("endpoint-port"), Some("13231"));
    }

    #[test]
    fn slash_paths_inline_menu_changes_and_up() {
        let c = parse(
            "/ip pool add name=vpn-pool range=192.168.99.2-192.168.99.100 /ppp profile set default local-address=192.168.99.1 remote-address=vpn-pool /ppp secret add name=user1 password=123 add name=user2 password=234",
        )
        .unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(c[0].menu_path(), "/ip pool");
        assert_eq!(c[1].menu_path(), "/ppp profile");
        assert_eq!(c[1].target, Some(Target::Name("default".into())));
        assert_eq!(c[2].get("name"), Some("user1"));
        assert_eq!(c[3].menu_path(), "/ppp secret");
        assert_eq!(c[3].get("password"), Some("234"));
        let c = parse("/interface/wireguard/peers\nadd interface=wg1\n.. add name=wg2").unwrap();
        assert_eq!(c[0].menu, ["interface", "wireguard", "peers"]);
        assert_eq!(c[1].menu, ["interface", "wireguard"]);
    }

    #[test]
    fn find_targets_names_and_indexes() {
        let c = parse(
            "/ppp secret set [find name=user1] password=x\n/ppp secret set [ find where name=\"a b\" ] disabled=yes\n/interface ovpn-server server set myServer push-routes=\"192.168.102.0 255.255.255.0 192.168.109.1 9\"\n/ip address remove 0",
        )
        .unwrap();
        assert_eq!(
            c[0].target,
            Some(Target::Find(vec![("name".into(), "user1".into())]))
        );
        assert_eq!(
            c[1].target,
            Some(Target::Find(vec![("name".into(), "a b".into())]))
        );
        assert_eq!(c[2].menu_path(), "/interface ovpn-server server");
        assert_eq!(c[2].target, Some(Target::Name("myServer".into())));
        assert_eq!(
            c[2].get("push-routes"),
            Some("192.168.102.0 255.255.255.0 192.168.109.1 9")
        );
        assert_eq!(c[3].target, Some(Target::Index(0)));
    }

    #[test]
    fn escapes_comments_and_quoted_continuations() {
        let c = parse(
            "# a comment\n/system note set note=\"tab\\there \\\"q\\\" \\$x \\_y \\41\\\\\"\n/ppp secret add comment=\"long \\\n    text\" name=u",
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].get("note"), Some("tab\there \"q\" $x  y A\\"));
        assert_eq!(c[1].get("comment"), Some("long text"));
        assert_eq!(c[1].line, 3);
    }

    #[test]
    fn quoted_strings_span_lines() {
        let c = parse("/interface wireguard/wg-import config-string=\"\n[Interface]\nListenPort = 1\"\n/ip pool add name=p\n").unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].verb, "wg-import");
        assert_eq!(
            c[0].get("config-string"),
            Some("\n[Interface]\nListenPort = 1")
        );
        assert_eq!(c[1].line, 4);
        // A comment line's quote does not open a string.
        assert_eq!(parse("# say \"hi\n/ip pool add name=p").unwrap().len(), 1);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("/ip pool\nadd name=\"open").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.what.contains("unterminated"));
        let e = parse("/ip pool\nfrobnicate").unwrap_err();
        assert!(e.what.contains("neither a command nor a menu"), "{e}");
        assert_eq!(parse("name=x").unwrap_err().line, 1);
        assert!(parse("/ip pool add name=\"bad \\q\"").is_err());
    }

    #[test]
    fn to_rsc_round_trips() {
        let src = "/interface l2tp-server server set enabled=yes use-ipsec=required ipsec-secret=mySecret default-profile=default\n\
                   /ppp secret set [find name=\"we ird\"] comment=\"a \\\"b\\\" \\$c\" password=p\n";
        for c in parse(src).unwrap() {
            let again = parse(&c.to_rsc()).unwrap();
            assert_eq!(again.len(), 1);
            let mut a = again[0].clone();
            a.line = c.line;
            assert_eq!(a, c, "{}", c.to_rsc());
        }
    }

    #[test]
    fn relative_slash_path_with_verb() {
        // seed 000 L942, typed at the root menu.
        let c = parse("/\ninterface/sstp-client/set add-sni=yes\n").unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].menu_path(), "/interface sstp-client");
        assert_eq!(c[0].verb, "set");
        assert_eq!(props(&c[0]), [("add-sni", "yes")]);
        // From a menu: relative to it.
        let c = parse("/interface\nsstp-client/set add-sni=no\n").unwrap();
        assert_eq!(c[0].menu_path(), "/interface sstp-client");
        assert_eq!(props(&c[0]), [("add-sni", "no")]);
    }
}
