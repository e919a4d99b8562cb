//! Query text → tantivy query, against the split schema.

use logwarden_indexer::schema::LogSchema;
use tantivy::Index;
use tantivy::query::{AllQuery, Query, QueryParser};

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
        QueryCompiler { parser }
    }

    pub fn compile(&self, text: &str) -> Result<Box<dyn Query>, String> {
        let text = text.trim();
        if text.is_empty() || text == "*" {
            return Ok(Box::new(AllQuery));
        }
        self.parser
            .parse_query(text)
            .map_err(|e| format!("cannot parse query `{text}`: {e}"))
    }
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
}
