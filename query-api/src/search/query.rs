//! Query text → tantivy query, against the split schema.
//!
//! tantivy's grammar covers terms, phrases, `field:value`, ranges,
//! AND/OR/NOT, `field:*` and `field:/regex/`. Lucene wildcards
//! (`host.name:web*`, `fail?d`) are rewritten into regexes first.
//!
//! Bare words (no `field:`) search what a person expects them to: the
//! message and the keyword ECS fields (`sshd` is in `process.name`,
//! `203.0.113.9` in `source.ip`). tantivy's own multi-field default would
//! also send phrases to every field, so the parsed query is rewritten
//! here instead: an unquoted bare word becomes `message:w OR
//! process.name:w OR …`; a quoted phrase searches `message` only.

use logwarden_event::fields;
use logwarden_store::schema::LogSchema;
use std::net::Ipv4Addr;
use std::ops::Bound;

use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ExistsQuery, FuzzyTermQuery, InvertedIndexRangeQuery, Occur, Query,
    QueryParser, QueryParserError, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Type};
use tantivy::{Index, Term};
use tantivy::query_grammar::{self, Delimiter, UserInputAst, UserInputBound, UserInputLeaf};

/// Parses Lucene-style queries (`host.name:web01 AND "failed password"`);
/// terms are ANDed by default; bare words search the message and the
/// keyword fields, phrases the message.
pub struct QueryCompiler {
    parser: QueryParser,
    /// What is indexed: fields kept only as doc values, free fields.
    schema: LogSchema,
    /// Keyword fields a bare word also searches, as written (not lowercased).
    bare_word_fields: Vec<&'static str>,
}

/// The byte between the segments of a free field's path in its terms
/// (`tantivy_common::JSON_PATH_SEGMENT_SEP`, not re-exported by tantivy;
/// the exists tests below fail if it changes).
const JSON_PATH_SEGMENT_SEP: u8 = 1;

/// The field name the wildcard rewrite gives a bare word's regex; expanded
/// to the bare-word fields like a bare word.
const BARE: &str = "_bare";

/// The keyword fields bare words search besides `message`: every one but
/// `event.id` and `stream` (picked with the `stream` parameter; `auth` as a
/// word should find "auth" in a line, not the whole auth stream).
fn bare_word_fields() -> Vec<&'static str> {
    fields::KEYWORDS
        .iter()
        .copied()
        .filter(|name| *name != fields::ID && *name != fields::STREAM)
        .collect()
}

impl QueryCompiler {
    pub fn new(schema: &LogSchema) -> QueryCompiler {
        // The parser needs an index for its tokenizers; the schema is what
        // matters, and every split shares it.
        let index = Index::create_in_ram(schema.schema.clone());
        let mut parser = QueryParser::for_index(&index, vec![schema.message]);
        parser.set_conjunction_by_default();
        parser.allow_regexes();
        QueryCompiler { parser, schema: schema.clone(), bare_word_fields: bare_word_fields() }
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
        let ast = query_grammar::parse_query(&rewritten)
            .map_err(|_| QueryParserError::SyntaxError(rewritten.clone()))
            .map_err(|e| format!("cannot parse query `{text}`: {e}"))?;
        let ast = exists_forms(ast);
        self.check_indexed(&ast)
            .map_err(|e| format!("cannot search with query `{text}`: {e}"))?;
        self.build(self.expand_bare_words(ast))
            .map(complete_negations)
            .map_err(|e| format!("cannot parse query `{text}`: {e}"))
    }

    /// The query of `ast`: tantivy's parser builds it, but for leaves on a
    /// string field kept only as doc values (`event.id`), which its parser
    /// refuses (it needs the field's terms): those are built here as
    /// ranges over the field's column, and the clauses around them too.
    fn build(&self, ast: UserInputAst) -> Result<Box<dyn Query>, QueryParserError> {
        if !self.has_own_leaf(&ast) {
            return self.parser.build_query_from_user_input_ast(ast);
        }
        self.build_clauses(ast)
    }

    /// Once a query holds a leaf of its own, every clause of it is built
    /// here, leaves by [`Self::own_leaf`]: tantivy's parser refuses a
    /// clause that only excludes (`NOT b` in `a AND NOT b`), which
    /// `complete_negations` completes afterwards.
    fn build_clauses(&self, ast: UserInputAst) -> Result<Box<dyn Query>, QueryParserError> {
        match ast {
            UserInputAst::Clause(clauses) => {
                let clauses = clauses
                    .into_iter()
                    // Terms are ANDed by default (`set_conjunction_by_default`).
                    .map(|(occur, ast)| Ok((occur.unwrap_or(Occur::Must), self.build_clauses(ast)?)))
                    .collect::<Result<Vec<_>, QueryParserError>>()?;
                Ok(Box::new(BooleanQuery::new(clauses)))
            }
            UserInputAst::Boost(ast, boost) => {
                Ok(Box::new(BoostQuery::new(self.build_clauses(*ast)?, boost.into_inner() as f32)))
            }
            UserInputAst::Leaf(leaf) => self.own_leaf(*leaf),
        }
    }

    /// The schema field `name` is in, and the path within it (a free
    /// field's; empty otherwise).
    fn field_and_path<'a>(&self, name: &'a str) -> Result<(Field, &'a str), QueryParserError> {
        self.schema.schema.find_field(name).ok_or_else(|| QueryParserError::FieldDoesNotExist(name.to_string()))
    }

    /// Whether `ast` holds a leaf built here rather than by tantivy's
    /// parser: `field:*`, a fuzzy word, an IPv4 network or address range, a
    /// range over a free field, or one on a string column.
    fn has_own_leaf(&self, ast: &UserInputAst) -> bool {
        match ast {
            UserInputAst::Clause(clauses) => clauses.iter().any(|(_, ast)| self.has_own_leaf(ast)),
            UserInputAst::Boost(ast, _) => self.has_own_leaf(ast),
            UserInputAst::Leaf(leaf) => {
                matches!(leaf.as_ref(), UserInputLeaf::Exists { .. })
                    || fuzzy_word(leaf).is_some()
                    || free_field_range(leaf).is_some()
                    || self.ipv4_leaf(leaf).is_some()
                    || self.column_field(leaf).is_some()
            }
        }
    }

    /// `fields.PATH:[A TO B]`. A free field keeps terms only, typed the
    /// way tantivy types JSON values: whole numbers as i64 (u64 past its
    /// range), other numbers as f64, RFC 3339 times as dates to the second,
    /// other strings as text. tantivy's `RangeQuery` reads doc values, so
    /// the range is one over the terms of the bounds' kind instead: numbers
    /// over the three number types, times over dates (to the second), any
    /// other text in byte order, as a keyword field's.
    fn free_field_range(
        &self,
        name: &str,
        lower: &UserInputBound,
        upper: &UserInputBound,
    ) -> Result<Box<dyn Query>, QueryParserError> {
        let (field, path) = self.field_and_path(name)?;
        let path_end = Term::from_field_json_path(field, path, true);
        let given = [lower, upper].into_iter().filter_map(|b| match b {
            UserInputBound::Inclusive(text) | UserInputBound::Exclusive(text) => Some(text.as_str()),
            UserInputBound::Unbounded => None,
        });
        let number = |text: &str| text.parse::<f64>().ok().filter(|n| n.is_finite());
        let time = |text: &str| {
            chrono::DateTime::parse_from_rfc3339(text).ok().and_then(|t| t.timestamp_nanos_opt()).map(|nanos| {
                tantivy::DateTime::from_timestamp_nanos(nanos).truncate(tantivy::schema::DateTimePrecision::Seconds)
            })
        };
        let ranges: Vec<Box<dyn Query>> = if given.clone().all(|t| number(t).is_some()) {
            let lower = map_user_bound(lower, |t| number(t).unwrap());
            let upper = map_user_bound(upper, |t| number(t).unwrap());
            let (int_lower, int_upper) = (whole_lower(lower), whole_upper(upper));
            let mut ranges = vec![typed_range(&path_end, lower, upper)];
            // `as` saturates: a bound past a type's range admits all of it
            // on that side; a lower bound past i64's or an upper one under
            // 0 leaves that type out.
            if !int_lower.is_some_and(|l| l > i64::MAX as f64) {
                let whole = |n: Option<f64>| n.map(|n| Bound::Included(n as i64));
                ranges.push(typed_range(&path_end, whole(int_lower), whole(int_upper)));
            }
            if !int_upper.is_some_and(|u| u < 0.0) {
                let whole = |n: Option<f64>| n.map(|n| Bound::Included(n as u64));
                ranges.push(typed_range(&path_end, whole(int_lower), whole(int_upper)));
            }
            ranges
        } else if given.clone().all(|t| time(t).is_some()) {
            let lower = map_user_bound(lower, |t| time(t).unwrap());
            let upper = map_user_bound(upper, |t| time(t).unwrap());
            vec![typed_range(&path_end, lower, upper)]
        } else {
            let text = |value: &str| json_text_term(&path_end, value);
            let lower = map_user_bound(lower, text).unwrap_or_else(|| type_bound(&path_end, Type::Str, false));
            let upper = map_user_bound(upper, text).unwrap_or_else(|| type_bound(&path_end, Type::Str, true));
            vec![Box::new(InvertedIndexRangeQuery::new(lower, upper))]
        };
        Ok(Box::new(BooleanQuery::new(ranges.into_iter().map(|r| (Occur::Should, r)).collect())))
    }

    /// Addresses in IPv4 networks (`source.ip:"10.0.0.0/8"`, or a range of
    /// addresses split into networks) in a keyword or free field, which
    /// keeps them as text: a network is the text prefixes its addresses
    /// share (`10.` for a /8, `172.16.` to `172.31.` for a /12) and whole
    /// addresses for the last octet, each a range of terms; an address
    /// written with leading zeros or in another form is not found.
    fn ipv4_blocks(&self, name: &str, blocks: &[(u32, u8)]) -> Result<Box<dyn Query>, QueryParserError> {
        let (field, path) = self.field_and_path(name)?;
        let json = self.schema.schema.get_field_entry(field).field_type().is_json();
        let path_end = json.then(|| Term::from_field_json_path(field, path, true));
        let term = |text: &str| match &path_end {
            Some(path_end) => json_text_term(path_end, text),
            None => Term::from_field_text(field, text),
        };
        let mut spans = Vec::new();
        for &(network, bits) in blocks {
            ipv4_spans(network, bits, &mut spans);
        }
        let clauses = spans
            .into_iter()
            .map(|span| -> (Occur, Box<dyn Query>) {
                let query: Box<dyn Query> = match span {
                    Ipv4Span::Address(text) => Box::new(TermQuery::new(term(&text), IndexRecordOption::Basic)),
                    // Every term starting with `prefix` (which ends in a
                    // dot): up to, not including, the prefix with '/' (the
                    // byte after '.') in place of its dot.
                    Ipv4Span::Prefix(prefix) => {
                        let after = format!("{}/", &prefix[..prefix.len() - 1]);
                        Box::new(InvertedIndexRangeQuery::new(
                            Bound::Included(term(&prefix)),
                            Bound::Excluded(term(&after)),
                        ))
                    }
                };
                (Occur::Should, query)
            })
            .collect();
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    /// An IPv4 network or address range ([`ipv4_network_leaf`]) on a field
    /// keeping whole values as terms: an indexed keyword or a free field
    /// (`message`'s words are not addresses; its leaves stay the parser's).
    fn ipv4_leaf<'a>(&self, leaf: &'a UserInputLeaf) -> Option<(&'a str, Vec<(u32, u8)>)> {
        let (name, blocks) = ipv4_network_leaf(leaf)?;
        let (field, _) = self.schema.schema.find_field(name)?;
        let entry = self.schema.schema.get_field_entry(field);
        let keyword = match entry.field_type() {
            tantivy::schema::FieldType::Str(options) => {
                options.get_indexing_options().is_some_and(|i| i.tokenizer() == "raw")
            }
            tantivy::schema::FieldType::JsonObject(_) => entry.is_indexed(),
            _ => false,
        };
        keyword.then_some((name, blocks))
    }

    /// `WORD~N`: the terms of `name` within N edits of the word (a swap of
    /// two letters is one); `message`'s terms are lowercase words, so the
    /// word is lowercased there and must be one word.
    fn fuzzy(&self, name: &str, word: &str, distance: u8) -> Result<Box<dyn Query>, QueryParserError> {
        let (field, path) = self.field_and_path(name)?;
        let entry = self.schema.schema.get_field_entry(field);
        let term = match entry.field_type() {
            tantivy::schema::FieldType::Str(options) => match options.get_indexing_options() {
                Some(indexing) if indexing.tokenizer() == "raw" => Term::from_field_text(field, word),
                Some(_) if word.chars().all(char::is_alphanumeric) => {
                    Term::from_field_text(field, &word.to_lowercase())
                }
                Some(_) => {
                    return Err(QueryParserError::UnsupportedQuery(format!(
                        "`{word}~{distance}` searches `{name}` for one word: letters and digits only"
                    )));
                }
                None => return Err(QueryParserError::FieldNotIndexed(name.to_string())),
            },
            tantivy::schema::FieldType::JsonObject(_) if entry.is_indexed() => {
                json_text_term(&Term::from_field_json_path(field, path, true), word)
            }
            _ => {
                return Err(QueryParserError::UnsupportedQuery(format!(
                    "`{name}` holds no text: a fuzzy search (`WORD~N`) needs a keyword, free or text field"
                )));
            }
        };
        Ok(Box::new(FuzzyTermQuery::new(term, distance, true)))
    }

    /// `field:*`: the events with a value in `name`. tantivy's own
    /// `ExistsQuery` reads doc values, so a field without them (`message`,
    /// a free field) is answered from its terms instead: every term of the
    /// field, or of the free field's path and the paths under it.
    fn exists(&self, name: &str) -> Result<Box<dyn Query>, QueryParserError> {
        let (field, path) = self.field_and_path(name)?;
        let entry = self.schema.schema.get_field_entry(field);
        if entry.is_fast() && path.is_empty() {
            return Ok(Box::new(ExistsQuery::new(name.to_string(), false)));
        }
        if !entry.is_indexed() {
            return Err(QueryParserError::FieldNotIndexed(name.to_string()));
        }
        // Only a term's value bytes bound the range; for a free field they
        // are its path, a 0 byte (the path's end) or a 1 byte (a deeper
        // segment), then the value.
        let (lower, upper) = if entry.field_type().is_json() && !path.is_empty() {
            let mut lower = Term::from_field_json_path(field, path, true);
            lower.truncate_value_bytes(lower.len_bytes() - 1);
            let mut upper = lower.clone();
            upper.append_bytes(&[JSON_PATH_SEGMENT_SEP + 1]);
            (Bound::Included(lower), Bound::Excluded(upper))
        } else {
            (Bound::Included(Term::from_field_text(field, "")), Bound::Unbounded)
        };
        Ok(Box::new(InvertedIndexRangeQuery::new(lower, upper)))
    }

    /// The string doc-values-only field `leaf` searches, if any.
    fn column_field(&self, leaf: &UserInputLeaf) -> Option<Field> {
        let name = match leaf {
            UserInputLeaf::Literal(l) => l.field_name.as_deref(),
            UserInputLeaf::Range { field, .. } | UserInputLeaf::Set { field, .. } => field.as_deref(),
            UserInputLeaf::Exists { field } => Some(field.as_str()),
            UserInputLeaf::Regex { .. } | UserInputLeaf::All => None,
        }?;
        let field = self.schema.schema.get_field(name).ok()?;
        let entry = self.schema.schema.get_field_entry(field);
        (entry.is_fast() && !entry.is_indexed() && entry.field_type().value_type() == Type::Str).then_some(field)
    }

    /// `field:*`, or a leaf on a string column: an exact value or a set of
    /// them, a range (patterns were refused before, by `check_indexed`).
    fn own_leaf(&self, leaf: UserInputLeaf) -> Result<Box<dyn Query>, QueryParserError> {
        if let UserInputLeaf::Exists { field } = &leaf {
            return self.exists(field);
        }
        if let Some((word, distance)) = fuzzy_word(&leaf) {
            let UserInputLeaf::Literal(literal) = &leaf else { unreachable!("fuzzy_word takes literals") };
            return self.fuzzy(literal.field_name.as_deref().unwrap_or(fields::MESSAGE), word, distance);
        }
        if let Some((field, blocks)) = self.ipv4_leaf(&leaf) {
            return self.ipv4_blocks(field, &blocks);
        }
        if let Some((field, lower, upper)) = free_field_range(&leaf) {
            return self.free_field_range(field, lower, upper);
        }
        let Some(field) = self.column_field(&leaf) else {
            return self.parser.build_query_from_user_input_ast(UserInputAst::Leaf(Box::new(leaf)));
        };
        let term = |text: &str| Term::from_field_text(field, text);
        let exact = |text: &str| -> Box<dyn Query> {
            Box::new(RangeQuery::new(Bound::Included(term(text)), Bound::Included(term(text))))
        };
        let bound = |b: &UserInputBound| match b {
            UserInputBound::Inclusive(text) => Bound::Included(term(text)),
            UserInputBound::Exclusive(text) => Bound::Excluded(term(text)),
            UserInputBound::Unbounded => Bound::Unbounded,
        };
        Ok(match leaf {
            UserInputLeaf::Literal(literal) => exact(&literal.phrase),
            UserInputLeaf::Range { lower, upper, .. } => Box::new(RangeQuery::new(bound(&lower), bound(&upper))),
            UserInputLeaf::Set { elements, .. } => {
                Box::new(BooleanQuery::new(elements.iter().map(|e| (Occur::Should, exact(e))).collect()))
            }
            leaf @ (UserInputLeaf::Exists { .. } | UserInputLeaf::Regex { .. } | UserInputLeaf::All) => {
                return self.parser.build_query_from_user_input_ast(UserInputAst::Leaf(Box::new(leaf)));
            }
        })
    }

    /// Refuses, naming it, a field that does not exist, a free field that
    /// is not indexed (it would silently match nothing), and a pattern on a
    /// field kept only as doc values (their exact values and ranges are answered
    /// from those).
    fn check_indexed(&self, ast: &UserInputAst) -> Result<(), String> {
        match ast {
            UserInputAst::Clause(clauses) => clauses.iter().try_for_each(|(_, ast)| self.check_indexed(ast)),
            UserInputAst::Boost(ast, _) => self.check_indexed(ast),
            UserInputAst::Leaf(leaf) => {
                let (field, pattern) = match leaf.as_ref() {
                    UserInputLeaf::Literal(l) => (l.field_name.as_deref(), l.prefix),
                    UserInputLeaf::Range { field, .. } | UserInputLeaf::Set { field, .. } => (field.as_deref(), false),
                    UserInputLeaf::Regex { field, .. } => (field.as_deref(), true),
                    UserInputLeaf::Exists { field } => (Some(field.as_str()), false),
                    UserInputLeaf::All => (None, false),
                };
                let Some(field) = field.filter(|f| *f != BARE) else { return Ok(()) };
                // A free field's path is bytes of its terms, where 0 and 1
                // bytes are structure (a 0 in a path made tantivy's fuzzy
                // query read a type code that is not one, and panic).
                if field.chars().any(char::is_control) {
                    return Err(format!("field `{}` has a control character in its name", field.escape_debug()));
                }
                if self.schema.schema.find_field(field).is_none() {
                    return Err(format!(
                        "field `{field}` does not exist: search an ECS field of the schema or a free field as `fields.NAME` (see README, \"What is searchable\")"
                    ));
                }
                if let Some(free) = field.strip_prefix("fields.") {
                    if !self.schema.free_field_indexed(free) {
                        return Err(format!(
                            "field `{field}` is not indexed: only the free fields in the indexer's list are (see README, \"What is searchable\"); the value is still in each event's stored copy"
                        ));
                    }
                } else if pattern && doc_values_only(&self.schema, field) {
                    return Err(format!(
                        "field `{field}` is kept as doc values, not indexed: search it by exact value or range (`{field}:VALUE`, `{field}:[A TO B]`), not by phrase, prefix or pattern"
                    ));
                }
                Ok(())
            }
        }
    }

    /// Each unquoted bare word (and each bare wildcard's regex) becomes a
    /// disjunction over `message` and the keyword fields; quoted phrases
    /// and `field:` terms stay as they are (unfielded ones go to `message`,
    /// the parser's default field). Recursion is bounded by
    /// [`MAX_QUERY_DEPTH`], checked before parsing.
    fn expand_bare_words(&self, ast: UserInputAst) -> UserInputAst {
        match ast {
            UserInputAst::Clause(clauses) => UserInputAst::Clause(
                clauses
                    .into_iter()
                    .map(|(occur, ast)| (occur, self.expand_bare_words(ast)))
                    .collect(),
            ),
            UserInputAst::Boost(ast, boost) => UserInputAst::Boost(Box::new(self.expand_bare_words(*ast)), boost),
            UserInputAst::Leaf(leaf) => match *leaf {
                // `event.id:X` on a field kept as doc values: a one-value
                // range, which tantivy answers from them.
                UserInputLeaf::Literal(literal)
                    if literal.field_name.as_deref().is_some_and(|f| doc_values_only(&self.schema, f)) =>
                {
                    UserInputAst::Leaf(Box::new(UserInputLeaf::Range {
                        field: literal.field_name,
                        lower: UserInputBound::Inclusive(literal.phrase.clone()),
                        upper: UserInputBound::Inclusive(literal.phrase),
                    }))
                }
                // `process.pid:IN [7 8]`: one such range per value (tantivy's
                // set query reads terms).
                UserInputLeaf::Set { field: Some(field), elements } if doc_values_only(&self.schema, &field) => {
                    any_of(elements.into_iter().map(|value| UserInputLeaf::Range {
                        field: Some(field.clone()),
                        lower: UserInputBound::Inclusive(value.clone()),
                        upper: UserInputBound::Inclusive(value),
                    }))
                }
                UserInputLeaf::Literal(literal)
                    if literal.field_name.is_none() && literal.delimiter == Delimiter::None && !literal.prefix =>
                {
                    let per_field = self.bare_word_fields.iter().map(|name| {
                        let mut literal = literal.clone();
                        literal.field_name = Some(name.to_string());
                        UserInputLeaf::Literal(literal)
                    });
                    any_of(std::iter::once(UserInputLeaf::Literal(literal.clone())).chain(per_field))
                }
                UserInputLeaf::Regex { field: Some(field), pattern } if field == BARE => {
                    let message = UserInputLeaf::Regex {
                        field: Some(fields::MESSAGE.to_string()),
                        pattern: pattern.to_lowercase(),
                    };
                    let per_field = self.bare_word_fields.iter().map(|name| UserInputLeaf::Regex {
                        field: Some(name.to_string()),
                        pattern: pattern.clone(),
                    });
                    any_of(std::iter::once(message).chain(per_field))
                }
                leaf => UserInputAst::Leaf(Box::new(leaf)),
            },
        }
    }
}

/// An unquoted `WORD~N` or `WORD~` (N from 0 to 2, 2 if left out):
/// Lucene's fuzzy term, the word and the edit distance. tantivy's grammar
/// keeps it as the word `WORD~N`, which the message's tokenizer would turn
/// into a phrase that matches nothing.
fn fuzzy_word(leaf: &UserInputLeaf) -> Option<(&str, u8)> {
    let UserInputLeaf::Literal(literal) = leaf else { return None };
    if literal.delimiter != Delimiter::None || literal.prefix {
        return None;
    }
    let (word, distance) = literal.phrase.rsplit_once('~')?;
    let distance = match distance {
        "" | "2" => 2,
        "1" => 1,
        "0" => 0,
        _ => return None,
    };
    (!word.is_empty()).then_some((word, distance))
}

/// `ast` with Lucene's other ways of saying `FIELD:*` written that way:
/// `FIELD:[* TO *]` (which tantivy's parser drops, matching nothing) and
/// `_exists_:FIELD` (Kibana's).
fn exists_forms(ast: UserInputAst) -> UserInputAst {
    match ast {
        UserInputAst::Clause(clauses) => {
            UserInputAst::Clause(clauses.into_iter().map(|(occur, ast)| (occur, exists_forms(ast))).collect())
        }
        UserInputAst::Boost(ast, boost) => UserInputAst::Boost(Box::new(exists_forms(*ast)), boost),
        UserInputAst::Leaf(leaf) => UserInputAst::Leaf(Box::new(match *leaf {
            UserInputLeaf::Range { field: Some(field), lower, upper } if is_unbounded(&lower) && is_unbounded(&upper) => {
                UserInputLeaf::Exists { field }
            }
            UserInputLeaf::Literal(literal)
                if literal.field_name.as_deref() == Some("_exists_") && !literal.prefix && literal.slop == 0 =>
            {
                UserInputLeaf::Exists { field: literal.phrase }
            }
            leaf => leaf,
        })),
    }
}

fn is_unbounded(bound: &UserInputBound) -> bool {
    matches!(bound, UserInputBound::Unbounded)
}

/// A leaf asking for IPv4 networks: `FIELD:"A.B.C.D/BITS"` (the network's
/// block), or `FIELD:[A.B.C.D TO E.F.G.H]` with addresses for bounds (or
/// `*`; the blocks covering the range): its field and blocks (network,
/// prefix length). Other leaves, and text that is not IPv4, are `None`.
fn ipv4_network_leaf(leaf: &UserInputLeaf) -> Option<(&str, Vec<(u32, u8)>)> {
    match leaf {
        UserInputLeaf::Literal(literal) if !literal.prefix => {
            let field = literal.field_name.as_deref()?;
            let (address, bits) = literal.phrase.split_once('/')?;
            let address = u32::from(address.parse::<Ipv4Addr>().ok()?);
            let bits = bits.parse::<u8>().ok().filter(|b| *b <= 32)?;
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            Some((field, vec![(address & mask, bits)]))
        }
        UserInputLeaf::Range { field: Some(field), lower, upper } => {
            if is_unbounded(lower) && is_unbounded(upper) {
                return None;
            }
            let low = match lower {
                UserInputBound::Inclusive(text) => u64::from(u32::from(text.parse::<Ipv4Addr>().ok()?)),
                UserInputBound::Exclusive(text) => u64::from(u32::from(text.parse::<Ipv4Addr>().ok()?)) + 1,
                UserInputBound::Unbounded => 0,
            };
            let high = match upper {
                UserInputBound::Inclusive(text) => i64::from(u32::from(text.parse::<Ipv4Addr>().ok()?)),
                UserInputBound::Exclusive(text) => i64::from(u32::from(text.parse::<Ipv4Addr>().ok()?)) - 1,
                UserInputBound::Unbounded => i64::from(u32::MAX),
            };
            Some((field, ipv4_range_blocks(low, high)))
        }
        _ => None,
    }
}

/// The fewest IPv4 blocks (network, prefix length) covering the addresses
/// `low..=high` (none if the range is empty): at most 62.
fn ipv4_range_blocks(low: u64, high: i64) -> Vec<(u32, u8)> {
    let mut blocks = Vec::new();
    let mut low = low;
    while i64::try_from(low).is_ok_and(|l| l <= high) {
        // The largest block aligned at `low` that ends within the range.
        let mut bits = 32u8;
        while bits > 0 {
            let size = 1u64 << (33 - u32::from(bits));
            if !low.is_multiple_of(size) || low + size - 1 > high as u64 {
                break;
            }
            bits -= 1;
        }
        blocks.push((low as u32, bits));
        low += 1u64 << (32 - u32::from(bits));
    }
    blocks
}

/// A set of IPv4 addresses as text: one address, or every address whose
/// text starts with a prefix ending in a dot (`10.1.`).
#[derive(Debug, PartialEq)]
enum Ipv4Span {
    Address(String),
    Prefix(String),
}

/// The spans of the block `network/bits`: whole octets fixed make the
/// prefix; a partial octet adds one span per value it may take.
fn ipv4_spans(network: u32, bits: u8, spans: &mut Vec<Ipv4Span>) {
    let octets = network.to_be_bytes();
    let whole = usize::from(bits / 8);
    let prefix: String = octets[..whole].iter().map(|o| format!("{o}.")).collect();
    if whole == 4 {
        spans.push(Ipv4Span::Address(prefix[..prefix.len() - 1].to_string()));
        return;
    }
    let free_bits = 8 - (bits % 8);
    if free_bits == 8 && whole > 0 {
        spans.push(Ipv4Span::Prefix(prefix));
        return;
    }
    let first = octets[whole];
    let last = first | u8::MAX.checked_shr(u32::from(8 - free_bits)).unwrap_or(0);
    for value in first..=last {
        spans.push(if whole == 3 {
            Ipv4Span::Address(format!("{prefix}{value}"))
        } else {
            Ipv4Span::Prefix(format!("{prefix}{value}."))
        });
    }
}

/// A range over a free field (`fields.PATH:[A TO B]`): its name and bounds.
fn free_field_range(leaf: &UserInputLeaf) -> Option<(&str, &UserInputBound, &UserInputBound)> {
    match leaf {
        UserInputLeaf::Range { field: Some(field), lower, upper } if field.starts_with("fields.") => {
            Some((field, lower, upper))
        }
        _ => None,
    }
}

/// `bound` with its text turned into a value by `f`; `None` if unbounded.
fn map_user_bound<T>(bound: &UserInputBound, f: impl Fn(&str) -> T) -> Option<Bound<T>> {
    match bound {
        UserInputBound::Inclusive(text) => Some(Bound::Included(f(text))),
        UserInputBound::Exclusive(text) => Some(Bound::Excluded(f(text))),
        UserInputBound::Unbounded => None,
    }
}

/// The least whole number a lower bound admits; `None` if unbounded.
fn whole_lower(bound: Option<Bound<f64>>) -> Option<f64> {
    match bound? {
        Bound::Included(x) => Some(x.ceil()),
        Bound::Excluded(x) => Some(x.floor() + 1.0),
        Bound::Unbounded => None,
    }
}

/// The greatest whole number an upper bound admits; `None` if unbounded.
fn whole_upper(bound: Option<Bound<f64>>) -> Option<f64> {
    match bound? {
        Bound::Included(x) => Some(x.floor()),
        Bound::Excluded(x) => Some(x.ceil() - 1.0),
        Bound::Unbounded => None,
    }
}

/// The term of the text `value` at a free field's path (`path_end`: the
/// path and the 0 byte ending it).
fn json_text_term(path_end: &Term, value: &str) -> Term {
    let mut term = path_end.clone();
    term.append_type_and_str(value);
    term
}

/// The terms of a free field's path (`path_end`: its path and the 0 byte
/// ending it) of type `T` between `lower` and `upper`; an unbounded side
/// ends at the type's first or last term.
fn typed_range<T: tantivy::fastfield::FastValue>(
    path_end: &Term,
    lower: Option<Bound<T>>,
    upper: Option<Bound<T>>,
) -> Box<dyn Query> {
    let term = |value: T| {
        let mut term = path_end.clone();
        term.append_type_and_fast_value(value);
        term
    };
    let lower = lower.map(|b| b.map(term)).unwrap_or_else(|| type_bound(path_end, T::to_type(), false));
    let upper = upper.map(|b| b.map(term)).unwrap_or_else(|| type_bound(path_end, T::to_type(), true));
    Box::new(InvertedIndexRangeQuery::new(lower, upper))
}

/// Where a free field's terms of type `typ` begin (`end` false) or end.
fn type_bound(path_end: &Term, typ: Type, end: bool) -> Bound<Term> {
    let mut term = path_end.clone();
    if end {
        term.append_bytes(&[typ.to_code() + 1]);
        Bound::Excluded(term)
    } else {
        term.append_bytes(&[typ.to_code()]);
        Bound::Included(term)
    }
}

/// Whether `field` is a schema field kept only as doc values (near-unique
/// values such as `event.id`, `_offset`, `event.ingested`).
fn doc_values_only(schema: &LogSchema, field: &str) -> bool {
    schema.schema.get_field(field).is_ok_and(|f| {
        let entry = schema.schema.get_field_entry(f);
        entry.is_fast() && !entry.is_indexed()
    })
}

/// A clause matching when any of `leaves` does.
fn any_of(leaves: impl Iterator<Item = UserInputLeaf>) -> UserInputAst {
    UserInputAst::Clause(
        leaves
            .map(|leaf| (Some(Occur::Should), UserInputAst::Leaf(Box::new(leaf))))
            .collect(),
    )
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
/// become `_bare:/regex/`, which the compiler expands to `message` (its
/// terms are lowercase, so the regex is lowercased there) and the keyword
/// fields (as written).
pub fn wildcards_to_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let mut in_quotes = false;
    let mut in_regex = false;
    let mut range_depth = 0;
    // After a backslash in a regex: the next character is the regex's
    // (`\/` does not end it).
    let mut escaped = false;
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(&rewrite_word(word));
        word.clear();
    };
    for c in text.chars() {
        if in_quotes || in_regex {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '"' && in_quotes {
                in_quotes = false;
            } else if c == '\\' && in_regex {
                escaped = true;
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
            (sign, BARE.to_string(), pattern.to_string())
        }
    };
    format!("{prefix}{field}:/{}/", pattern_regex(&pattern, true))
}

/// `pattern` as the regex between a `field:/…/` leaf's slashes: with
/// `wildcards`, `*` any run and `?` any one character (Lucene's wildcards);
/// every other character literal (escaped when the regex or the grammar
/// would read it).
pub(crate) fn pattern_regex(pattern: &str, wildcards: bool) -> String {
    let mut regex = String::with_capacity(pattern.len() + 4);
    for c in pattern.chars() {
        match c {
            '*' if wildcards => regex.push_str(".*"),
            '?' if wildcards => regex.push('.'),
            c if "\\.+()|[]{}^$/#&<>~@\"*?".contains(c) => {
                regex.push('\\');
                regex.push(c);
            }
            c => regex.push(c),
        }
    }
    regex
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
            "_bare:/Fail.d/ AND -user.name:/ad.*n/"
        );
        // An escaped slash does not end a regex.
        assert_eq!(
            wildcards_to_regex(r"log.file.path:/\/var\/log\/.*/ AND a*"),
            r"log.file.path:/\/var\/log\/.*/ AND _bare:/a.*/"
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

#[cfg(test)]
mod bare_word_tests {
    use super::*;
    use tantivy::collector::Count;
    use tantivy::{TantivyDocument, doc};

    /// Three sshd/sudo lines as the collector stores them: the program in
    /// `process.name`, the text after the syslog header in `message`.
    fn count_with() -> impl Fn(&str) -> Result<usize, String> {
        let schema = LogSchema::new();
        let index = Index::create_in_ram(schema.schema.clone());
        let mut writer: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
        let field = |name: &str| schema.schema.get_field(name).unwrap();
        for (process, host, user, ip, message) in [
            ("sshd", "web01", "root", "203.0.113.9", "Failed password for root from 203.0.113.9 port 22 ssh2"),
            ("sshd", "db01", "alice", "198.51.100.7", "Accepted publickey for alice from 198.51.100.7 port 50022 ssh2"),
            ("sudo", "db01", "alice", "", "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls"),
        ] {
            let mut document: TantivyDocument = doc!(
                field("process.name") => process,
                field("host.name") => host,
                field("user.name") => user,
                schema.message => message,
            );
            if !ip.is_empty() {
                document.add_text(field("source.ip"), ip);
            }
            writer.add_document(document).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let compiler = QueryCompiler::new(&schema);
        move |q: &str| Ok(searcher.search(&compiler.compile(q)?, &Count).unwrap())
    }

    #[test]
    fn bare_words_search_the_message_and_the_keyword_fields() {
        let count = count_with();
        for (query, expected) in [
            ("sshd", 2),               // process.name only
            ("sshd AND failed", 1),    // the README's first query
            ("sshd AND Failed", 1),    // message terms are lowercase
            ("sshd failed", 1),        // terms are ANDed
            ("203.0.113.9", 1),        // source.ip (and the message)
            ("web01", 1),              // host.name
            ("alice", 2),              // user.name and message
            ("sshd OR sudo", 3),
            ("SSHD", 0),               // keyword values match as written
        ] {
            assert_eq!(count(query), Ok(expected), "{query}");
        }
    }

    #[test]
    fn phrases_search_the_message_only() {
        let count = count_with();
        assert_eq!(count("\"failed password\""), Ok(1));
        assert_eq!(count("\"Failed Password\" AND sshd"), Ok(1));
        assert_eq!(count("\"failed pass\"*"), Ok(1));
        // `sshd` is not in any message: a phrase never reaches process.name.
        assert_eq!(count("\"sshd failed\""), Ok(0));
        assert_eq!(count("\"sshd\""), Ok(0));
        assert_eq!(count("message:sshd"), Ok(0));
    }

    #[test]
    fn fielded_terms_negations_and_wildcards() {
        let count = count_with();
        for (query, expected) in [
            ("process.name:sshd", 2),
            ("process.name:SSHD", 0),
            ("host.name:db01 AND alice", 2),
            ("sshd AND NOT failed", 1),
            ("sshd AND -failed", 1),
            ("NOT sshd", 1),
            ("-sudo", 2),
            ("NOT (sudo OR root)", 1),
            ("su?o", 1),             // process.name
            ("web*", 1),             // host.name
            ("Fail*", 1),            // message, lowercased
            ("198.51.*", 1),         // source.ip
            ("-web* AND sshd", 1),
            ("user.name:al*", 2),
            ("*", 3),
            ("host.name:*", 3),
            ("source.ip:*", 2),
        ] {
            assert_eq!(count(query), Ok(expected), "{query}");
        }
        assert!(count("nosuchfield:sshd").unwrap_err().contains("nosuchfield"));
        assert!(count("message:pass-word~1").unwrap_err().contains("one word"));
    }

    /// Addresses are kept as text; a network or a range of addresses finds
    /// them by value, not by text order (`198.51.100.7` sorts before
    /// `203.0.113.9` either way; `10.9.0.1` after `10.10.0.1` as text).
    #[test]
    fn ipv4_networks_and_address_ranges_find_addresses() {
        let count = count_with();
        for (query, expected) in [
            ("source.ip:\"203.0.113.0/24\"", 1),
            ("source.ip:\"203.0.0.0/8\"", 1),
            ("source.ip:\"192.0.0.0/2\"", 2),
            ("source.ip:\"198.51.100.7/32\"", 1),
            ("source.ip:\"198.51.100.6/31\"", 1),
            ("source.ip:\"198.51.100.8/29\"", 0),
            ("source.ip:\"198.51.96.0/20\"", 1),
            ("source.ip:\"198.51.112.0/20\"", 0),
            ("source.ip:\"0.0.0.0/0\"", 2),
            ("source.ip:[198.51.100.0 TO 203.0.113.9]", 2),
            ("source.ip:[198.51.100.8 TO 203.0.113.8]", 0),
            ("source.ip:{198.51.100.7 TO *]", 1),
            ("source.ip:[* TO 198.51.100.7}", 0),
            ("source.ip:[* TO 198.51.100.7]", 1),
            ("NOT source.ip:\"203.0.113.0/24\"", 2),
            ("sshd AND source.ip:\"198.51.0.0/16\"", 1),
            ("203.0.113.9", 1),
        ] {
            assert_eq!(count(query), Ok(expected), "{query}");
        }
    }

    /// Lucene's fuzzy terms: `WORD~N` within N edits, `WORD~` within 2.
    #[test]
    fn fuzzy_words_find_terms_within_their_edits() {
        let count = count_with();
        for (query, expected) in [
            ("message:pasword~1", 1),
            ("message:pasword~0", 0),
            ("pasword~1", 1),
            ("Pasword~1", 1),
            ("faield~1", 1),     // a swap of two letters is one edit
            ("faield~0", 0),
            ("publikey~", 1),
            ("process.name:sshf~1", 2),
            ("process.name:SSHD~1", 0), // keyword values as written
            ("sudp~1 OR sshd", 3),
            ("message:alice~1 AND NOT process.name:sudo", 1),
        ] {
            assert_eq!(count(query), Ok(expected), "{query}");
        }
    }
}

#[cfg(test)]
mod ipv4_tests {
    use super::*;

    fn ip(text: &str) -> u32 {
        u32::from(text.parse::<Ipv4Addr>().unwrap())
    }

    #[test]
    fn a_range_of_addresses_is_the_fewest_blocks_covering_it() {
        assert_eq!(ipv4_range_blocks(0, i64::from(u32::MAX)), vec![(0, 0)]);
        assert_eq!(ipv4_range_blocks(ip("10.0.0.0").into(), ip("10.255.255.255").into()), vec![(ip("10.0.0.0"), 8)]);
        assert_eq!(ipv4_range_blocks(1, 2), vec![(1, 32), (2, 32)]);
        assert_eq!(ipv4_range_blocks(4, 11), vec![(4, 30), (8, 30)]);
        assert_eq!(ipv4_range_blocks(3, 2), vec![]);
        assert_eq!(ipv4_range_blocks(0, -1), vec![]);
        let widest = ipv4_range_blocks(1, i64::from(u32::MAX) - 1);
        assert_eq!(widest.len(), 62);
        // Contiguous, in order, each aligned to its size, covering exactly.
        let mut next = 1u64;
        for (network, bits) in widest {
            let size = 1u64 << (32 - u32::from(bits));
            assert_eq!(u64::from(network), next);
            assert_eq!(u64::from(network) % size, 0);
            next += size;
        }
        assert_eq!(next, u64::from(u32::MAX));
    }

    #[test]
    fn a_block_is_the_text_prefixes_its_addresses_share() {
        let spans = |network: &str, bits: u8| {
            let mut spans = Vec::new();
            ipv4_spans(ip(network), bits, &mut spans);
            spans
        };
        assert_eq!(spans("10.0.0.0", 8), vec![Ipv4Span::Prefix("10.".into())]);
        assert_eq!(spans("1.2.3.4", 32), vec![Ipv4Span::Address("1.2.3.4".into())]);
        let twelve = spans("172.16.0.0", 12);
        assert_eq!(twelve.len(), 16);
        assert_eq!(twelve[0], Ipv4Span::Prefix("172.16.".into()));
        assert_eq!(twelve[15], Ipv4Span::Prefix("172.31.".into()));
        assert_eq!(
            spans("1.2.3.0", 30),
            ["1.2.3.0", "1.2.3.1", "1.2.3.2", "1.2.3.3"].map(|a| Ipv4Span::Address(a.into()))
        );
        let everything = spans("0.0.0.0", 0);
        assert_eq!((everything.len(), &everything[255]), (256, &Ipv4Span::Prefix("255.".into())));
    }
}

#[cfg(test)]
mod indexed_tests {
    use super::*;
    use tantivy::collector::Count;

    /// Two events mapped the way the indexer maps them.
    fn count_with() -> impl Fn(&str) -> Result<usize, String> {
        let schema = LogSchema::new();
        let index = Index::create_in_ram(schema.schema.clone());
        let mut writer: tantivy::IndexWriter<logwarden_store::EventDocument> = index.writer(15_000_000).unwrap();
        for (offset, payload) in [
            r#"{"@timestamp":"2026-01-01T00:00:00Z","event.ingested":"2026-01-01T00:00:05Z","event.id":"f1:42","message":"a","log.offset":42,"process.pid":7,"fields":{"trace.id":"abc","ssh.method":"password","http.response.status_code":503,"source.bytes":1.5,"source.packets":18446744073709551615}}"#,
            r#"{"@timestamp":"2026-01-01T00:00:01Z","event.ingested":"2026-01-01T00:00:06Z","event.id":"f1:43","message":"b","log.offset":43,"url.path":"/login","http.response.status_code":404,"source.bytes":2048,"file.mtime":"2026-01-01T00:00:03.250Z","source.packets":-3,"client.ip":"10.9.0.1"}"#,
        ]
        .into_iter()
        .enumerate()
        {
            writer.add_document(schema.document(payload.as_bytes(), offset as u64).unwrap().document).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let compiler = QueryCompiler::new(&schema);
        move |q: &str| Ok(searcher.search(&compiler.compile(q)?, &Count).unwrap())
    }

    #[test]
    fn values_kept_as_doc_values_answer_exact_values_and_ranges() {
        let count = count_with();
        for (query, expected) in [
            ("event.id:\"f1:42\"", 1),
            ("event.id:\"f1:4\"", 0),
            ("log.offset:43", 1),
            ("log.offset:[40 TO 50]", 2),
            ("process.pid:7", 1),
            ("process.pid:[1 TO 10] AND NOT message:b", 1),
            ("process.pid:IN [7 8]", 1),
            ("process.pid:*", 1),
            ("_offset:0", 1),
            ("@timestamp:\"2026-01-01T00:00:01Z\"", 1),
            ("event.ingested:[2026-01-01T00:00:05Z TO 2026-01-01T00:00:05Z]", 1),
            ("event.id:\"f1:42\" AND message:a", 1),
            ("event.id:[f1 TO f2] AND NOT message:a", 1),
            ("event.id:[f1 TO f2] AND NOT (message:a OR message:c)", 1),
            ("NOT event.id:\"f1:42\"", 1),
            ("-event.id:\"f1:42\"", 1),
            ("event.id:\"f1:42\" OR event.id:\"f1:43\"", 2),
            ("(event.id:\"f1:42\" OR message:b) AND log.offset:[0 TO 42]", 1),
            ("event.id:\"f1:42\"^2 AND a", 1),
            ("event.id:[f1 TO f2]", 2),
            ("event.id:{f1 TO *]", 2),
            ("event.id:IN [\"f1:42\" \"f9\"]", 1),
            ("event.id:*", 2),
            ("fields.ssh.method:password", 1),
            ("fields.url.path:\"/login\"", 1),
        ] {
            assert_eq!(count(query), Ok(expected), "{query}");
        }
    }

    /// `field:*` and `field:[* TO *]` find the events with a value in the
    /// field whether doc values keep it or only terms do (`message`, free
    /// fields and the objects above them); a field that does not exist and
    /// a range over a free field are refused by name, not answered wrong.
    #[test]
    fn any_value_of_a_field_is_found_whatever_keeps_it() {
        let count = count_with();
        for (query, expected) in [
            ("message:*", 2),
            ("message:[* TO *]", 2),
            ("fields.url.path:*", 1),
            ("fields.url.path:[* TO *]", 1),
            ("fields.url:*", 1),
            ("fields.url.pat:*", 0),
            ("fields.ssh.method:*", 1),
            ("fields.ssh:*", 1),
            ("fields:*", 2),
            ("log.offset:[* TO *]", 2),
            ("@timestamp:[* TO *]", 2),
            ("event.id:[* TO *]", 2),
            ("host.name:*", 0),
            ("host.name:[* TO *]", 0),
            ("NOT fields.url.path:*", 1),
            ("message:a AND NOT fields.ssh:*", 0),
            ("_exists_:fields.url.path", 1),
            ("_exists_:message AND NOT _exists_:fields.ssh", 1),
        ] {
            assert_eq!(count(query), Ok(expected), "{query}");
        }
        for (query, named) in [
            ("nope:*", "`nope` does not exist"),
            ("nope:[* TO *]", "`nope` does not exist"),
            ("_exists_:nope", "`nope` does not exist"),
            // Found by the fuzzer: a 0 byte in a free field's path panicked
            // tantivy's fuzzy query.
            ("fields.url.path\0:x~0", "control character"),
            ("fields.url\u{1}path:*", "control character"),
            ("message:a OR nope:x", "`nope` does not exist"),
            ("_source:*", "_source"),
        ] {
            let err = count(query).unwrap_err();
            assert!(err.contains(named), "{query}: {err}");
        }
    }

    /// A free field keeps terms, typed as tantivy types JSON values; a
    /// range over one finds the values of the bounds' kind: numbers of any
    /// of the three types (503 and 404 as i64, 1.5 as f64, 2^64-1 as u64),
    /// times to the second, other text in byte order.
    #[test]
    fn ranges_over_free_fields_find_numbers_times_and_text() {
        let count = count_with();
        for (query, expected) in [
            ("fields.http.response.status_code:[400 TO 499]", 1),
            ("fields.http.response.status_code:[500 TO *]", 1),
            ("fields.http.response.status_code:{404 TO 503]", 1),
            ("fields.http.response.status_code:[* TO 404}", 0),
            ("fields.http.response.status_code:[* TO *]", 2),
            ("fields.http.response.status_code:[403.5 TO 404.5]", 1),
            ("fields.source.bytes:[1 TO 2]", 1),
            ("fields.source.bytes:[1.5 TO 1.5]", 1),
            ("fields.source.bytes:{1.5 TO 2048}", 0),
            ("fields.source.bytes:[1.6 TO 3000]", 1),
            ("fields.source.bytes:[0 TO *]", 2),
            ("fields.source.packets:[1e19 TO *]", 1),
            ("fields.source.packets:[* TO 0]", 1),
            ("fields.source.packets:[-10 TO -3}", 0),
            ("fields.source:[* TO *]", 2),
            ("fields.url.path:[/a TO /m]", 1),
            ("fields.url.path:[/m TO *]", 0),
            ("fields.file.mtime:[2026-01-01T00:00:00Z TO 2026-01-01T00:00:05Z]", 1),
            ("fields.file.mtime:[2026-01-01T00:00:03Z TO 2026-01-01T00:00:03Z]", 1),
            ("fields.file.mtime:[2026-01-01T00:00:04Z TO *]", 0),
            ("message:b AND fields.http.response.status_code:[400 TO 499]", 1),
            ("fields.client.ip:\"10.0.0.0/8\"", 1),
            ("fields.client.ip:\"10.8.0.0/15\"", 1),
            ("fields.client.ip:\"10.10.0.0/15\"", 0),
            ("fields.client.ip:[10.9.0.0 TO 10.10.0.0]", 1),
            ("fields.client.ip:[10.10.0.0 TO 10.11.0.0]", 0),
            ("NOT fields.http.response.status_code:[400 TO 499]", 1),
        ] {
            assert_eq!(count(query), Ok(expected), "{query}");
        }
        let err = count("fields.trace.id:[a TO b]").unwrap_err();
        assert!(err.contains("`fields.trace.id` is not indexed"), "{err}");
    }

    #[test]
    fn a_free_field_not_indexed_or_a_pattern_on_doc_values_is_refused_by_name() {
        let count = count_with();
        let err = count("fields.trace.id:abc").unwrap_err();
        assert!(err.contains("`fields.trace.id` is not indexed"), "{err}");
        let err = count("message:a OR fields.trace.id:/ab.*/").unwrap_err();
        assert!(err.contains("fields.trace.id"), "{err}");
        let err = count("process.pid:7*").unwrap_err();
        assert!(err.contains("`process.pid` is kept as doc values"), "{err}");
        let err = count("log.offset:4*").unwrap_err();
        assert!(err.contains("`log.offset` is kept as doc values"), "{err}");
        let err = count("event.id:f1*").unwrap_err();
        assert!(err.contains("`event.id` is kept as doc values"), "{err}");
    }
}
