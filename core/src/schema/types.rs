//! Engine-independent column types: a typed, nested tree parsed from Hive/Glue type strings
//! (`struct<a:string,b:array<struct<c:int>>>`), from Athena result type names, or from Arrow.

use std::fmt;

use crate::error::{Error, Result};

/// A column type as Security Lake's Glue catalog describes it, nested arbitrarily.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DataType {
    String,
    Boolean,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    Decimal {
        precision: u8,
        scale: u8,
    },
    Date,
    Timestamp,
    Binary,
    Array {
        element: Box<DataType>,
    },
    Map {
        key: Box<DataType>,
        value: Box<DataType>,
    },
    Struct {
        fields: Vec<Field>,
    },
    /// A type this crate does not model; kept verbatim so nothing is lost.
    Other {
        name: String,
    },
}

/// A named, typed member of a struct or table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Field {
    pub name: String,
    pub data_type: DataType,
}

impl Field {
    pub fn new(name: impl Into<String>, data_type: DataType) -> Self {
        Self {
            name: name.into(),
            data_type,
        }
    }
}

impl DataType {
    /// Parses a Hive / Glue type string as Athena's `GetTableMetadata` returns it.
    /// Also accepts the Trino spellings Athena uses in results (`varchar(10)`, `integer`, `row(a varchar)`).
    pub fn parse_hive(s: &str) -> Result<DataType> {
        let mut p = TypeParser { src: s, pos: 0 };
        let t = p.parse_type()?;
        p.skip_ws();
        if p.pos != s.len() {
            return Err(p.error("unexpected trailing text"));
        }
        Ok(t)
    }

    /// The Hive spelling, the inverse of [`DataType::parse_hive`].
    pub fn hive_name(&self) -> String {
        self.to_string()
    }

    /// The DuckDB spelling, used to give generated data its exact type.
    pub fn duckdb_name(&self) -> String {
        match self {
            DataType::String => "VARCHAR".into(),
            DataType::Boolean => "BOOLEAN".into(),
            DataType::TinyInt => "TINYINT".into(),
            DataType::SmallInt => "SMALLINT".into(),
            DataType::Int => "INTEGER".into(),
            DataType::BigInt => "BIGINT".into(),
            DataType::Float => "FLOAT".into(),
            DataType::Double => "DOUBLE".into(),
            DataType::Decimal { precision, scale } => format!("DECIMAL({precision},{scale})"),
            DataType::Date => "DATE".into(),
            DataType::Timestamp => "TIMESTAMP".into(),
            DataType::Binary => "BLOB".into(),
            DataType::Array { element } => format!("{}[]", element.duckdb_name()),
            DataType::Map { key, value } => {
                format!("MAP({}, {})", key.duckdb_name(), value.duckdb_name())
            }
            DataType::Struct { fields } => {
                let inner: Vec<String> = fields
                    .iter()
                    .map(|f| {
                        format!(
                            "\"{}\" {}",
                            f.name.replace('"', "\"\""),
                            f.data_type.duckdb_name()
                        )
                    })
                    .collect();
                format!("STRUCT({})", inner.join(", "))
            }
            DataType::Other { name } => name.clone(),
        }
    }

    /// Struct fields, looking through one array level (`array<struct<…>>`), as dotted paths descend.
    pub fn child_fields(&self) -> Option<&[Field]> {
        match self {
            DataType::Struct { fields } => Some(fields),
            DataType::Array { element } => match element.as_ref() {
                DataType::Struct { fields } => Some(fields),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn is_nested(&self) -> bool {
        matches!(
            self,
            DataType::Struct { .. } | DataType::Array { .. } | DataType::Map { .. }
        )
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::String => f.write_str("string"),
            DataType::Boolean => f.write_str("boolean"),
            DataType::TinyInt => f.write_str("tinyint"),
            DataType::SmallInt => f.write_str("smallint"),
            DataType::Int => f.write_str("int"),
            DataType::BigInt => f.write_str("bigint"),
            DataType::Float => f.write_str("float"),
            DataType::Double => f.write_str("double"),
            DataType::Decimal { precision, scale } => write!(f, "decimal({precision},{scale})"),
            DataType::Date => f.write_str("date"),
            DataType::Timestamp => f.write_str("timestamp"),
            DataType::Binary => f.write_str("binary"),
            DataType::Array { element } => write!(f, "array<{element}>"),
            DataType::Map { key, value } => write!(f, "map<{key},{value}>"),
            DataType::Struct { fields } => {
                f.write_str("struct<")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}:{}", field.name, field.data_type)?;
                }
                f.write_str(">")
            }
            DataType::Other { name } => f.write_str(name),
        }
    }
}

struct TypeParser<'a> {
    src: &'a str,
    pos: usize,
}

impl TypeParser<'_> {
    fn error(&self, what: &str) -> Error {
        Error::Schema(format!(
            "cannot parse type {:?} at offset {}: {what}",
            self.src, self.pos
        ))
    }

    fn skip_ws(&mut self) {
        while self.src[self.pos..].starts_with(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.src[self.pos..].starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(&format!("expected '{c}'")))
        }
    }

    /// A field or type name: letters, digits, `_`, `$`, `-`, `/`, `.`, `@`, or a backquoted / double-quoted name.
    fn ident(&mut self) -> Result<String> {
        self.skip_ws();
        let rest = &self.src[self.pos..];
        for q in ['`', '"'] {
            if let Some(inner) = rest.strip_prefix(q) {
                let end = inner
                    .find(q)
                    .ok_or_else(|| self.error("unterminated quoted name"))?;
                self.pos += end + 2;
                return Ok(inner[..end].to_string());
            }
        }
        let len = rest
            .find(|c: char| {
                !(c.is_alphanumeric() || matches!(c, '_' | '$' | '-' | '/' | '.' | '@'))
            })
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(self.error("expected a name"));
        }
        self.pos += len;
        Ok(rest[..len].to_string())
    }

    fn number(&mut self) -> Result<u8> {
        self.skip_ws();
        let rest = &self.src[self.pos..];
        let len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let n = rest[..len]
            .parse::<u8>()
            .map_err(|_| self.error("expected a number"))?;
        self.pos += len;
        Ok(n)
    }

    /// Optional `(n)` / `(p, s)` after a scalar name; returns the numbers.
    fn params(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        if self.eat('(') {
            loop {
                out.push(self.number()?);
                if self.eat(')') {
                    break;
                }
                self.expect(',')?;
            }
        }
        Ok(out)
    }

    fn parse_type(&mut self) -> Result<DataType> {
        let name = self.ident()?.to_ascii_lowercase();
        Ok(match name.as_str() {
            "array" => {
                let close = if self.eat('<') {
                    '>'
                } else {
                    self.expect('(')?;
                    ')'
                };
                let element = self.parse_type()?;
                self.expect(close)?;
                DataType::Array {
                    element: Box::new(element),
                }
            }
            "map" => {
                let close = if self.eat('<') {
                    '>'
                } else {
                    self.expect('(')?;
                    ')'
                };
                let key = self.parse_type()?;
                self.expect(',')?;
                let value = self.parse_type()?;
                self.expect(close)?;
                DataType::Map {
                    key: Box::new(key),
                    value: Box::new(value),
                }
            }
            "struct" | "row" => {
                // Hive: struct<name:type,…>; Trino: row(name type, …)
                let (close, hive) = if self.eat('<') {
                    ('>', true)
                } else {
                    self.expect('(')?;
                    (')', false)
                };
                let mut fields = Vec::new();
                if !self.eat(close) {
                    loop {
                        let fname = self.ident()?;
                        if hive {
                            self.expect(':')?;
                        }
                        fields.push(Field::new(fname, self.parse_type()?));
                        if self.eat(close) {
                            break;
                        }
                        self.expect(',')?;
                    }
                }
                DataType::Struct { fields }
            }
            "decimal" | "numeric" => {
                let p = self.params()?;
                DataType::Decimal {
                    precision: p.first().copied().unwrap_or(38),
                    scale: p.get(1).copied().unwrap_or(0),
                }
            }
            "string" | "varchar" | "char" | "json" | "uuid" | "ipaddress" => {
                self.params()?;
                DataType::String
            }
            "timestamp" => {
                self.params()?;
                // Trino: `timestamp(3) with time zone`
                let rest = self.src[self.pos..].trim_start().to_ascii_lowercase();
                for suffix in ["with time zone", "without time zone"] {
                    if rest.starts_with(suffix) {
                        self.skip_ws();
                        self.pos += suffix.len();
                    }
                }
                DataType::Timestamp
            }
            "boolean" => DataType::Boolean,
            "tinyint" => DataType::TinyInt,
            "smallint" => DataType::SmallInt,
            "int" | "integer" => DataType::Int,
            "bigint" => DataType::BigInt,
            "float" | "real" => DataType::Float,
            "double" => DataType::Double,
            "date" => DataType::Date,
            "binary" | "varbinary" => DataType::Binary,
            other => {
                let p = self.params()?;
                let name = if p.is_empty() {
                    other.to_string()
                } else {
                    format!(
                        "{other}({})",
                        p.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
                    )
                };
                DataType::Other { name }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_nested_hive_types() {
        for s in [
            "string",
            "array<decimal(9,6)>",
            "map<string,string>",
            "struct<a:string,b:array<struct<c:int,d:map<string,string>>>,e:decimal(3,1)>",
        ] {
            assert_eq!(DataType::parse_hive(s).unwrap().hive_name(), s);
        }
    }

    #[test]
    fn parses_trino_spellings() {
        let t =
            DataType::parse_hive("row(name varchar, port integer, ts timestamp(3) with time zone)")
                .unwrap();
        assert_eq!(t.hive_name(), "struct<name:string,port:int,ts:timestamp>");
        assert_eq!(
            DataType::parse_hive("array(varchar)").unwrap(),
            DataType::Array {
                element: Box::new(DataType::String)
            }
        );
    }

    #[test]
    fn rejects_malformed_types() {
        for s in [
            "",
            "struct<a string>",
            "array<int",
            "map<string>",
            "struct<a:int>>",
        ] {
            assert!(DataType::parse_hive(s).is_err(), "{s:?} should not parse");
        }
    }

    #[test]
    fn renders_duckdb_types() {
        let t =
            DataType::parse_hive("struct<uid:string,labels:array<string>,m:map<string,string>>")
                .unwrap();
        assert_eq!(
            t.duckdb_name(),
            "STRUCT(\"uid\" VARCHAR, \"labels\" VARCHAR[], \"m\" MAP(VARCHAR, VARCHAR))"
        );
    }
}
