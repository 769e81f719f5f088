//! FHIRPath values: nodes of the data, and System values computed from them.

use super::datetime::{Temporal, TemporalKind};
use super::decimal::Decimal;
use crate::reflect::{Node, PrimitiveValue};
use std::fmt;

/// A node of the data together with its FHIR type, when known (from the typed value, the
/// JSON `resourceType`, or a [`super::TypeModel`]).
#[derive(Clone, Copy, Debug)]
pub struct NodeValue<'a> {
    /// The node.
    pub node: Node<'a>,
    /// Its FHIR type name, or backbone path (`Patient.contact`) for JSON walked with a
    /// model.
    pub type_name: Option<&'a str>,
}

/// One item of a FHIRPath collection.
#[derive(Clone, Debug)]
pub enum Value<'a> {
    /// An element of the data.
    Node(NodeValue<'a>),
    /// `System.Boolean`.
    Boolean(bool),
    /// `System.Integer` (and `Long`).
    Integer(i64),
    /// `System.Decimal`, exact.
    Decimal(Decimal),
    /// `System.String`.
    String(String),
    /// `System.Date`, `System.DateTime` or `System.Time`.
    Temporal(Temporal),
    /// `System.Quantity`: a value and a UCUM unit or calendar word.
    Quantity(Decimal, String),
    /// The result of `type()`: namespace and name.
    TypeInfo(&'static str, String),
}

const QUANTITY_TYPES: &[&str] =
    &["Quantity", "Age", "Count", "Distance", "Duration", "SimpleQuantity", "MoneyQuantity"];

impl<'a> Value<'a> {
    /// A node as the interpreter holds it, with its own FHIR type.
    pub(crate) fn of_node(node: Node<'a>) -> Self {
        Value::Node(NodeValue { node, type_name: node.fhir_type() })
    }

    /// The System value of a primitive node (or the value itself for System values);
    /// FHIR `Quantity` nodes become `System.Quantity`. `None` for other complex nodes.
    pub fn to_system(&self) -> Option<Value<'a>> {
        match self {
            Value::Node(n) => node_system_value(n),
            other => Some(other.clone()),
        }
    }

    /// The `System` type name of a System value, or the FHIR type of a node.
    pub fn type_label(&self) -> String {
        match self {
            Value::Node(n) => n.type_name.unwrap_or("?").to_string(),
            Value::Boolean(_) => "Boolean".into(),
            Value::Integer(_) => "Integer".into(),
            Value::Decimal(_) => "Decimal".into(),
            Value::String(_) => "String".into(),
            Value::Temporal(t) => match t.kind {
                TemporalKind::Date => "Date".into(),
                TemporalKind::DateTime => "DateTime".into(),
                TemporalKind::Time => "Time".into(),
            },
            Value::Quantity(..) => "Quantity".into(),
            Value::TypeInfo(..) => "TypeInfo".into(),
        }
    }
}

pub(crate) fn is_quantity_type(t: &str) -> bool {
    QUANTITY_TYPES.contains(&t)
}

fn node_system_value<'a>(n: &NodeValue<'a>) -> Option<Value<'a>> {
    let ty = n.type_name.unwrap_or("");
    if let Some(p) = n.node.primitive() {
        return Some(match p {
            PrimitiveValue::Boolean(b) => Value::Boolean(b),
            PrimitiveValue::Integer(i) => {
                if ty == "decimal" {
                    Value::Decimal(Decimal::from_i64(i))
                } else {
                    Value::Integer(i)
                }
            }
            PrimitiveValue::Decimal(t) => match Decimal::parse(t) {
                Some(d) => Value::Decimal(d),
                None => Value::String(t.to_string()),
            },
            PrimitiveValue::Date(t) => {
                Temporal::parse_date(t).map(Value::Temporal).unwrap_or_else(|| Value::String(t.into()))
            }
            PrimitiveValue::DateTime(t) => {
                Temporal::parse_datetime(t).map(Value::Temporal).unwrap_or_else(|| Value::String(t.into()))
            }
            PrimitiveValue::Time(t) => {
                Temporal::parse_time(t).map(Value::Temporal).unwrap_or_else(|| Value::String(t.into()))
            }
            PrimitiveValue::String(s) => {
                let parsed = match ty {
                    "date" => Temporal::parse_date(s).map(Value::Temporal),
                    "dateTime" | "instant" => Temporal::parse_datetime(s).map(Value::Temporal),
                    "time" => Temporal::parse_time(s).map(Value::Temporal),
                    "integer64" => s.parse().ok().map(Value::Integer),
                    "decimal" => Decimal::parse(s).map(Value::Decimal),
                    _ => None,
                };
                parsed.unwrap_or_else(|| Value::String(s.to_string()))
            }
        });
    }
    if is_quantity_type(ty) {
        let mut value = None;
        let mut code = None;
        let mut unit = None;
        let mut system = None;
        n.node.visit_children(&mut |c| {
            let p = c.node.primitive();
            match (c.name, p) {
                ("value", Some(PrimitiveValue::Decimal(t))) => value = Decimal::parse(t),
                ("value", Some(PrimitiveValue::Integer(i))) => value = Some(Decimal::from_i64(i)),
                ("code", Some(PrimitiveValue::String(s))) => code = Some(s),
                ("unit", Some(PrimitiveValue::String(s))) => unit = Some(s),
                ("system", Some(PrimitiveValue::String(s))) => system = Some(s),
                _ => {}
            }
        });
        let unit = match (system, code) {
            (Some("http://unitsofmeasure.org"), Some(c)) => c.to_string(),
            (None, Some(c)) => c.to_string(),
            _ => unit.map(calendar_from_unit).unwrap_or("1").to_string(),
        };
        return value.map(|v| Value::Quantity(v, unit));
    }
    None
}

fn calendar_from_unit(u: &str) -> &str {
    u
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Node(n) => match self.to_system() {
                Some(v) => write!(f, "{v}"),
                None => write!(f, "{}", n.type_name.unwrap_or("element")),
            },
            Value::Boolean(b) => write!(f, "{b}"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::String(s) => write!(f, "{s}"),
            Value::Temporal(t) => write!(f, "{t}"),
            Value::Quantity(v, u) => {
                if super::units::calendar_unit(u).is_some() && u.chars().all(|c| c.is_ascii_lowercase()) && u.len() > 3
                {
                    write!(f, "{v} {u}")
                } else {
                    write!(f, "{v} '{u}'")
                }
            }
            Value::TypeInfo(ns, n) => write!(f, "{ns}.{n}"),
        }
    }
}
