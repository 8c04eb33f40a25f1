//! The SQL dialect asklake accepts: Athena engine v3 (Trino). sqlparser has no Trino dialect; this one is the
//! generic dialect plus what Trino queries over Security Lake use (`x -> expr` lambdas, `FILTER`, nested
//! field access, map subscripts).

use sqlparser::dialect::Dialect;

#[derive(Debug, Default, Clone, Copy)]
pub struct AthenaDialect;

impl Dialect for AthenaDialect {
    /// The parser enables some syntax (e.g. `UNNEST` in FROM) only for named dialects; this one is the
    /// generic dialect for those checks.
    fn dialect(&self) -> std::any::TypeId {
        std::any::TypeId::of::<sqlparser::dialect::GenericDialect>()
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_alphabetic() || ch == '_'
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_alphanumeric() || ch == '_' || ch == '$'
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '"' || ch == '`'
    }

    fn supports_lambda_functions(&self) -> bool {
        true
    }

    fn supports_filter_during_aggregation(&self) -> bool {
        true
    }

    fn supports_window_clause_named_window_reference(&self) -> bool {
        true
    }

    fn supports_group_by_expr(&self) -> bool {
        true
    }

    fn supports_array_typedef_with_brackets(&self) -> bool {
        true
    }

    fn supports_nested_comments(&self) -> bool {
        true
    }

    /// Trino's typed literals of its IP types, `IPADDRESS '10.0.0.1'` and `IPPREFIX '10.0.0.0/8'`, which
    /// sqlparser does not know: read as the casts they mean.
    fn parse_prefix(
        &self,
        parser: &mut sqlparser::parser::Parser,
    ) -> Option<Result<sqlparser::ast::Expr, sqlparser::parser::ParserError>> {
        use sqlparser::ast::{CastKind, DataType, Expr, Ident, ObjectName, Value};
        use sqlparser::tokenizer::Token;
        let Token::Word(w) = parser.peek_token().token else {
            return None;
        };
        let name = w.value.to_ascii_uppercase();
        if w.quote_style.is_some() || !(name == "IPADDRESS" || name == "IPPREFIX") {
            return None;
        }
        let Token::SingleQuotedString(text) = parser.peek_nth_token(1).token else {
            return None;
        };
        parser.next_token();
        parser.next_token();
        Some(Ok(Expr::Cast {
            kind: CastKind::Cast,
            expr: Box::new(Expr::value(Value::SingleQuotedString(text))),
            data_type: DataType::Custom(ObjectName::from(vec![Ident::new(name)]), vec![]),
            format: None,
        }))
    }
}

/// Parses Athena SQL into statements.
pub fn parse(sql: &str) -> Result<Vec<sqlparser::ast::Statement>, sqlparser::parser::ParserError> {
    sqlparser::parser::Parser::new(&AthenaDialect)
        .with_recursion_limit(64)
        .try_with_sql(sql)?
        .parse_statements()
}

/// Parses one expression (used by rewrites that build SQL text).
pub fn parse_expr(sql: &str) -> Result<sqlparser::ast::Expr, sqlparser::parser::ParserError> {
    sqlparser::parser::Parser::new(&AthenaDialect)
        .try_with_sql(sql)?
        .parse_expr()
}
