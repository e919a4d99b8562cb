//! Query text → tantivy query, against the split schema.
//!
//! tantivy's grammar covers terms, phrases, `field:value`, ranges,
//! AND/OR/NOT, `field:*` and `field:/regex/`. Lucene wildcards
//! (`host.name:web*`, `fail?d`) are rewritten into regexes first.

use logwarden_event::fields;
use logwarden_store::schema::LogSchema;
use tantivy::Index;
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, QueryParser};

/// Parses Lucene-style queries (`host.name:web01 AND "failed password"`);
/// terms are ANDed by default, full text goes to `message`.
pub struct QueryCompiler {
    parser: QueryParser,
}

impl QueryCompiler {
    pub fn new(schema: &LogSchema) -> QueryCompiler {
        // The parser needs an index for its tokenizers; the schema is what
        // matters, and every split shares it.
        let index = Index::create_in_ram(schema.schema.clone());
        let mut parser = QueryParser::for_index(&index, vec![schema.message]);
        parser.set_conjunction_by_default();
        parser.allow_regexes();
        QueryCompiler { parser }
    }

    pub fn compile(&self, text: &str) -> Result<Box<dyn Query>, String> {
        check_shape(text)?;
        let text = text.trim();
        if text.is_empty() || text == "*" {
            return Ok(Box::new(AllQuery));
        }
        // A query that only excludes (`NOT x`, `-x`) excludes from everything.
        let rewritten = wildcards_to_regex(text);
        let rewritten = if text.starts_with("NOT ") || text.starts_with('-') {
            format!("* AND {rewritten}")
        } else {
            rewritten
        };
        self.parser
            .parse_query(&rewritten)
            .map(complete_negations)
            .map_err(|e| format!("cannot parse query `{text}`: {e}"))
    }
}

/// The longest query text accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 32 * 1024;
/// The deepest nesting of parentheses accepted. tantivy's query grammar and
/// the rewrite below recurse once per level, so the depth is bounded before
/// either runs: a request never spends more stack than this allows.
pub const MAX_QUERY_DEPTH: usize = 100;
/// The most operators (`NOT`, `-`, `+`) accepted in a row before a term.
const MAX_UNARY_RUN: usize = 8;

/// Refuses query text too long or too deeply nested to parse safely; the
/// error names the limit.
pub fn check_shape(text: &str) -> Result<(), String> {
    if text.len() > MAX_QUERY_BYTES {
        return Err(format!(
            "query is {} bytes; the longest query accepted is {MAX_QUERY_BYTES} bytes",
            text.len()
        ));
    }
    let mut depth = 0usize;
    // Prefix operators since the last term: `NOT NOT a` and `--a` nest too.
    let mut unary_run = 0usize;
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    // Ends a word; the run of operators before a term, if the word held one.
    let end_word = |word: &mut String, unary_run: &mut usize| -> usize {
        let term = word.trim_start_matches(['-', '+', '!']);
        let peak = if word == "NOT" {
            *unary_run + 1
        } else {
            *unary_run + (word.len() - term.len())
        };
        *unary_run = if word != "NOT" && !term.is_empty() { 0 } else { peak };
        word.clear();
        peak
    };
    let too_many = || format!("query has more than {MAX_UNARY_RUN} NOT, - or + operators in a row");
    for c in text.chars() {
        if let Some(closing) = quote {
            if c == closing && previous != '\\' {
                quote = None;
            }
            previous = c;
            continue;
        }
        match c {
            '"' => quote = Some('"'),
            '/' if previous == ':' => quote = Some('/'),
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if (c.is_whitespace() || c == '(' || c == ')' || quote.is_some())
            && end_word(&mut word, &mut unary_run) > MAX_UNARY_RUN
        {
            return Err(too_many());
        } else if !(c.is_whitespace() || c == '(' || c == ')' || quote.is_some()) {
            word.push(c);
        }
        if depth > MAX_QUERY_DEPTH {
            return Err(format!("query nests parentheses deeper than {MAX_QUERY_DEPTH} levels"));
        }
        previous = c;
    }
    if end_word(&mut word, &mut unary_run) > MAX_UNARY_RUN {
        return Err(too_many());
    }
    Ok(())
}

/// tantivy parses `a AND NOT b` as `a` AND (a clause that only excludes
/// `b`), and such a clause matches nothing; Lucene means "everything but
/// `b`". Every boolean query made only of exclusions gets "everything" as
/// what it excludes from.
fn complete_negations(query: Box<dyn Query>) -> Box<dyn Query> {
    let Some(boolean) = query.downcast_ref::<BooleanQuery>() else {
        return query;
    };
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = boolean
        .clauses()
        .iter()
        .map(|(occur, q)| (*occur, complete_negations(q.box_clone())))
        .collect();
    if !clauses.is_empty() && clauses.iter().all(|(occur, _)| *occur == Occur::MustNot) {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// Rewrites each bare word holding `*` or `?` (outside quotes, ranges and
/// regexes; not `field:*`) into `field:/regex/`. Words without a field
/// search `message`, whose terms are lowercase.
pub fn wildcards_to_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let mut in_quotes = false;
    let mut in_regex = false;
    let mut range_depth = 0;
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(&rewrite_word(word));
        word.clear();
    };
    for c in text.chars() {
        if in_quotes || in_regex {
            out.push(c);
            if c == '"' && in_quotes {
                in_quotes = false;
            } else if c == '/' && in_regex {
                in_regex = false;
            }
            continue;
        }
        match c {
            '"' => {
                flush(&mut word, &mut out);
                in_quotes = true;
                out.push(c);
            }
            '/' if word.ends_with(':') => {
                flush(&mut word, &mut out);
                in_regex = true;
                out.push(c);
            }
            '[' | '{' => {
                range_depth += 1;
                word.push(c);
            }
            ']' | '}' => {
                range_depth -= 1;
                word.push(c);
            }
            c if range_depth == 0 && (c.is_whitespace() || c == '(' || c == ')') => {
                flush(&mut word, &mut out);
                out.push(c);
            }
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

fn rewrite_word(word: &str) -> String {
    let has_wildcard = word.contains(['*', '?']);
    let is_range = word.contains(['[', '{']);
    if !has_wildcard || is_range || word == "*" || word.ends_with(":*") {
        return word.to_string();
    }
    let (prefix, field, pattern) = match word.split_once(':') {
        Some((field, pattern)) => {
            let (sign, field) = match field.strip_prefix(['+', '-']) {
                Some(rest) => (&field[..1], rest),
                None => ("", field),
            };
            (sign, field.to_string(), pattern.to_string())
        }
        None => {
            let (sign, pattern) = match word.strip_prefix(['+', '-']) {
                Some(rest) => (&word[..1], rest),
                None => ("", word),
            };
            (sign, fields::MESSAGE.to_string(), pattern.to_lowercase())
        }
    };
    let mut regex = String::new();
    for c in pattern.chars() {
        match c {
            '*' => regex.push_str(".*"),
            '?' => regex.push('.'),
            c if "\\.+()|[]{}^$/#&<>~@\"".contains(c) => {
                regex.push('\\');
                regex.push(c);
            }
            c => regex.push(c),
        }
    }
    format!("{prefix}{field}:/{regex}/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_what_does_not_parse() {
        let compiler = QueryCompiler::new(&LogSchema::new());
        assert!(compiler.compile("host.name:web01 AND failed").is_ok());
        assert!(compiler.compile("").is_ok());
        let err = compiler.compile("nosuchfield:x").unwrap_err();
        assert!(err.contains("nosuchfield"), "{err}");
        assert!(compiler.compile("message:(unclosed").is_err());
    }

    #[test]
    fn wildcards_become_regexes_and_nothing_else_changes() {
        assert_eq!(wildcards_to_regex("host.name:web*"), "host.name:/web.*/");
        assert_eq!(
            wildcards_to_regex("Fail?d AND -user.name:ad*n"),
            "message:/fail.d/ AND -user.name:/ad.*n/"
        );
        assert_eq!(
            wildcards_to_regex("source.ip:10.0.*"),
            "source.ip:/10\\.0\\..*/"
        );
        for unchanged in [
            "host.name:*",
            "\"a * b\"",
            "process.pid:[* TO 100]",
            "@timestamp:[2025-12-10T06:55:00Z TO *}",
            "host.name:/we.?b/",
            "(a OR b) AND NOT c",
        ] {
            assert_eq!(wildcards_to_regex(unchanged), unchanged);
        }
        let compiler = QueryCompiler::new(&LogSchema::new());
        let compiled = compiler.compile("host.name:Lab* AND (fail* OR auth?ntication)");
        assert!(compiled.is_ok(), "{:?}", compiled.err());
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    /// Parses on a thread with the stack a tokio worker has (2 MiB): a
    /// query that overflowed it would abort the test process.
    fn compile_on_worker_stack(text: String) -> Result<(), String> {
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let compiler = QueryCompiler::new(&LogSchema::new());
                compiler.compile(&text).map(|_| ())
            })
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn hostile_nesting_is_refused_with_the_limit_named() {
        let deep = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
        let err = compile_on_worker_stack(deep).unwrap_err();
        assert!(err.contains("deeper than 100"), "{err}");
        let unclosed = "(".repeat(100_000);
        let err = compile_on_worker_stack(unclosed).unwrap_err();
        assert!(err.contains("bytes"), "{err}");
        let nots = format!("{}a", "NOT ".repeat(1000));
        let err = compile_on_worker_stack(nots).unwrap_err();
        assert!(err.contains("in a row"), "{err}");
        let dashes = format!("{}a", "-".repeat(1000));
        assert!(compile_on_worker_stack(dashes).unwrap_err().contains("in a row"));
        let long = "a ".repeat(MAX_QUERY_BYTES);
        assert!(compile_on_worker_stack(long).unwrap_err().contains("32768 bytes"));
    }

    #[test]
    fn what_stays_under_the_limits_parses_on_a_worker_stack() {
        let deepest = format!("{}message:a{}", "(".repeat(MAX_QUERY_DEPTH), ")".repeat(MAX_QUERY_DEPTH));
        compile_on_worker_stack(deepest).unwrap();
        // Parentheses inside quotes and regexes are text, not nesting.
        let quoted = format!("\"{}\" AND host.name:/{}a{}/", "(".repeat(200), "\\(".repeat(3), "\\)".repeat(3));
        compile_on_worker_stack(quoted).unwrap();
        // The longest flat query accepted: thousands of clauses, no recursion.
        let flat = vec!["host.name:a"; MAX_QUERY_BYTES / 16].join(" OR ");
        compile_on_worker_stack(flat).unwrap();
        let mixed = (0..2000).map(|i| if i % 2 == 0 { "a AND b" } else { "c OR NOT d" }).collect::<Vec<_>>().join(" OR ");
        compile_on_worker_stack(mixed).unwrap();
        compile_on_worker_stack(format!("{}a", "NOT ".repeat(MAX_UNARY_RUN - 1))).unwrap();
    }
}

#[cfg(test)]
mod negation_tests {
    use super::*;
    use tantivy::collector::Count;
    use tantivy::doc;

    #[test]
    fn and_not_excludes_from_what_the_rest_matches() {
        let schema = LogSchema::new();
        let index = Index::create_in_ram(schema.schema.clone());
        let mut writer: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
        for (host, message) in [
            ("a", "accepted key"),
            ("a", "failed key"),
            ("b", "failed key"),
        ] {
            let host_field = schema.schema.get_field("host.name").unwrap();
            writer
                .add_document(doc!(host_field => host, schema.message => message))
                .unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let compiler = QueryCompiler::new(&schema);
        let count = |q: &str| {
            searcher
                .search(&compiler.compile(q).unwrap(), &Count)
                .unwrap()
        };
        assert_eq!(count("host.name:a AND NOT message:accepted"), 1);
        assert_eq!(count("host.name:a AND -message:accepted"), 1);
        assert_eq!(count("NOT message:accepted"), 2);
        assert_eq!(count("-host.name:a"), 1);
        assert_eq!(count("key AND NOT (host.name:b OR message:accepted)"), 1);
    }
}
