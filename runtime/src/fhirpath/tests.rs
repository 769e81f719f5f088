use super::*;

fn run(expr: &str, json: &str) -> Option<bool> {
    let v = JsonValue::parse(json).unwrap();
    check(&parse(expr).unwrap(), &v, &v, None)
}

fn eval_str(expr: &str, json: &str) -> Result<Vec<String>, EvalError> {
    let v = JsonValue::parse(json).unwrap();
    let node = Node::json(&v);
    let e = parse(expr).map_err(|e| EvalError(e.0))?;
    Ok(evaluate(&e, node, &Env::new(node))?.iter().map(|v| v.to_string()).collect())
}

const GENDER_OTHER: &str = "gender.exists() and gender = 'other' implies gender.extension('https://dhp.uz/fhir/core/StructureDefinition/gender-other').exists()";

#[test]
fn ig_invariants() {
    assert_eq!(run(GENDER_OTHER, r#"{"gender":"male"}"#), Some(true));
    assert_eq!(run(GENDER_OTHER, r#"{"gender":"other"}"#), Some(false));
    assert_eq!(
        run(
            GENDER_OTHER,
            r#"{"gender":"other","_gender":{"extension":[{"url":"https://dhp.uz/fhir/core/StructureDefinition/gender-other","valueCoding":{"code":"x"}}]}}"#
        ),
        Some(true)
    );
    assert_eq!(run(GENDER_OTHER, r#"{}"#), Some(true));
    assert_eq!(run("%resource.where(gender='other').exists()", r#"{"gender":"other"}"#), Some(true));
    assert_eq!(run("%resource.where(gender='other').exists()", r#"{"gender":"female"}"#), Some(false));
}

#[test]
fn three_valued_logic() {
    assert_eq!(run("a and b", r#"{"a":true}"#), None);
    assert_eq!(run("a or b", r#"{"a":true}"#), Some(true));
    assert_eq!(run("a.not()", r#"{"a":false}"#), Some(true));
    assert_eq!(run("x.count() = 2", r#"{"x":[1,2]}"#), Some(true));
    assert_eq!(run("{} implies false", "{}"), None);
    assert_eq!(run("false implies {}", "{}"), Some(true));
}

#[test]
fn choice_elements_and_decimals() {
    let obs = r#"{"resourceType":"Observation","valueQuantity":{"value":1.50,"unit":"kg"},"valueSet":"x"}"#;
    assert_eq!(eval_str("Observation.value.value", obs).unwrap(), vec!["1.50"]);
    assert_eq!(eval_str("value.is(Quantity)", obs).unwrap(), vec!["true"]);
    assert_eq!(eval_str("(0.1 + 0.2 = 0.3)", "{}").unwrap(), vec!["true"]);
    assert_eq!(eval_str("1 / 3", "{}").unwrap(), vec!["0.33333333333333333333"]);
    assert_eq!(eval_str("@2014-01 = @2014-01-05", "{}").unwrap(), Vec::<String>::new());
    assert!(eval_str("'a' - 1", "{}").is_err());
}

#[test]
fn contained_references_resolve() {
    let p = r##"{"resourceType":"Patient","contained":[{"resourceType":"Practitioner","id":"p1","active":true}],"generalPractitioner":[{"reference":"#p1"}]}"##;
    assert_eq!(eval_str("generalPractitioner.resolve().active", p).unwrap(), vec!["true"]);
    assert_eq!(eval_str("generalPractitioner.resolve() is Practitioner", p).unwrap(), vec!["true"]);
}

#[test]
fn bundle_references_resolve_by_type_and_id_or_full_url() {
    let bundle = r#"{"resourceType":"Bundle","type":"collection","entry":[
        {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"12","active":true}},
        {"fullUrl":"http://x.org/fhir/Practitioner/7","resource":{"resourceType":"Practitioner","id":"7","active":false}}]}"#;
    let resolves = |reference: &str| {
        let expr = format!("'{reference}'.resolve().active");
        eval_str(&expr, bundle).unwrap()
    };
    for found in ["Patient/12", "http://other.org/fhir/Patient/12", "Patient/12/_history/3", "urn:uuid:1"] {
        assert_eq!(resolves(found), vec!["true"], "{found}");
    }
    assert_eq!(resolves("http://x.org/fhir/Practitioner/7"), vec!["false"]);
    for missing in ["Patient/1", "Patient/123", "XPatient/12", "fhir/XPatient/12", "Patient/12x/_history/3", "Patient12", "12"] {
        assert!(resolves(missing).is_empty(), "{missing}");
    }
}

fn on_small_stack<F: FnOnce() + Send + 'static>(f: F) {
    std::thread::Builder::new().stack_size(2 << 20).spawn(f).unwrap().join().unwrap();
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    on_small_stack(|| {
        let parens = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&parens).is_err());
        let ands = vec!["true"; 100_000].join(" and ");
        assert!(parse(&ands).is_err());
        let neg = format!("{}1", "-".repeat(100_000));
        assert!(parse(&neg).is_err());
        let chain = format!("a{}", ".b".repeat(100_000));
        assert!(parse(&chain).is_err());
        let calls = format!("{}1{}", "(1|".repeat(5_000), ")".repeat(5_000));
        assert!(parse(&calls).is_err());
        // The deepest accepted expressions evaluate and drop on the same small stack.
        let deep = format!("{}true{}", "(".repeat(MAX_DEPTH - 2), ")".repeat(MAX_DEPTH - 2));
        assert!(parse(&deep).is_ok());
        let ands = vec!["true"; MAX_DEPTH - 1].join(" and ");
        let e = parse(&ands).unwrap();
        let v = JsonValue::parse("{}").unwrap();
        // Evaluates, or reports it as too deep (unknown), without overflowing.
        assert_ne!(check(&e, &v, &v, None), Some(false));
        let ands = vec!["true"; 60].join(" and ");
        assert_eq!(check(&parse(&ands).unwrap(), &v, &v, None), Some(true));
        let nested = format!("{}true{}", "(true and ".repeat(MAX_DEPTH / 2 - 1), ")".repeat(MAX_DEPTH / 2 - 1));
        let e = parse(&nested).unwrap();
        assert_ne!(check(&e, &v, &v, None), Some(false));
        let wheres = format!("{}{}", "a.where(".repeat(MAX_DEPTH / 2 - 1), ")".repeat(MAX_DEPTH / 2 - 1));
        if let Ok(e) = parse(&wheres) {
            let _ = check(&e, &v, &v, None);
        }
    });
}

#[test]
fn deep_data_is_walked_without_recursion() {
    on_small_stack(|| {
        let mut json = String::from("{\"resourceType\":\"Basic\"");
        let mut v = String::from("1");
        // As deep as FHIR JSON goes (the resource is level 1).
        let levels = crate::json::MAX_DEPTH - 1;
        for _ in 0..levels {
            v = format!("{{\"a\":{v}}}");
        }
        json.push_str(&format!(",\"a\":{v}}}"));
        let value = JsonValue::parse(&json).unwrap();
        let node = Node::json(&value);
        let e = parse(&format!("descendants().count() > {} and repeat(a).count() = {}", levels - 1, levels + 1)).unwrap();
        let r = evaluate(&e, node, &Env::new(node)).unwrap();
        assert_eq!(r[0].to_string(), "true");
        let e = parse("%resource = %resource").unwrap();
        let _ = evaluate(&e, node, &Env::new(node));
    });
}

/// A small deterministic generator of random and mutated expressions.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn random_and_mutated_expressions_never_panic() {
    let seeds = [
        "Patient.name.where(use = 'official').given.first() & ' ' & name.family",
        "(1 + 2.5 * 3 'mg').toString() | @2014-01-05T10:30:00.000+10:00 + 1 'h'",
        "iif(a.exists(), a.select($this.b), {}).aggregate($total + $this, 0)",
        "extension('u').value.ofType(Coding).code.matches('[A-Z]+') implies (x ~ y) and z !~ w",
        "defineVariable('v', 1).select(%v + $index).sort(-$this).take(2).skip(1)[0] div 0 mod 3",
        "a.b.c.resolve().descendants().children().repeat(item).is(FHIR.Patient) xor true",
        "'a\\u0041b'.replaceMatches('(a)', '$1').split(',').join(';').substring(1, 2).lowBoundary(3)",
    ];
    let alphabet: Vec<char> = "()[]{}.,'`%$@+-*/&|=~!<>abcTZ019 :\\".chars().collect();
    let json =
        JsonValue::parse(r#"{"resourceType":"Patient","a":[{"b":{"c":"x"}},1.5],"name":[{"given":["A"]}]}"#).unwrap();
    let node = Node::json(&json);
    let env = Env::new(node);
    let mut rng = Lcg(42);
    for round in 0..6000 {
        let seed = seeds[round % seeds.len()];
        let mut chars: Vec<char> = seed.chars().collect();
        for _ in 0..(rng.next() % 4 + 1) {
            let pos = (rng.next() as usize) % (chars.len() + 1);
            match rng.next() % 3 {
                0 if pos < chars.len() => {
                    chars.remove(pos);
                }
                1 => chars.insert(pos, alphabet[(rng.next() as usize) % alphabet.len()]),
                _ if pos < chars.len() => chars[pos] = alphabet[(rng.next() as usize) % alphabet.len()],
                _ => {}
            }
        }
        let text: String = chars.into_iter().collect();
        if let Ok(e) = parse(&text) {
            let _ = evaluate(&e, node, &env);
        }
    }
    for _ in 0..3000 {
        let len = rng.next() % 30;
        let text: String = (0..len).map(|_| alphabet[(rng.next() as usize) % alphabet.len()]).collect();
        if let Ok(e) = parse(&text) {
            let _ = evaluate(&e, node, &env);
        }
    }
}

/// A typed resource as the generated code reflects it: choice children named by their
/// element (`value`), primitives with their own FHIR type.
struct TypedObs {
    status: crate::element::PrimitiveElement<crate::primitives::Code, JsonValue>,
    effective: crate::element::PrimitiveElement<crate::primitives::DateTime, JsonValue>,
    value: TypedQuantity,
    note: Vec<crate::element::PrimitiveElement<crate::primitives::FhirString, JsonValue>>,
}

struct TypedQuantity {
    value: crate::element::PrimitiveElement<crate::primitives::Decimal, JsonValue>,
    code: crate::element::PrimitiveElement<crate::primitives::Code, JsonValue>,
}

impl crate::reflect::Reflect for TypedQuantity {
    fn fhir_type(&self) -> &str {
        "Quantity"
    }
    fn visit_children<'a>(&'a self, visit: &mut dyn FnMut(crate::reflect::Child<'a>)) {
        use crate::reflect::Child;
        visit(Child { name: "value", json_name: "value", index: None, node: Node::Typed(&self.value) });
        visit(Child { name: "code", json_name: "code", index: None, node: Node::Typed(&self.code) });
    }
}

impl crate::reflect::Reflect for TypedObs {
    fn fhir_type(&self) -> &str {
        "Observation"
    }
    fn visit_children<'a>(&'a self, visit: &mut dyn FnMut(crate::reflect::Child<'a>)) {
        use crate::reflect::Child;
        visit(Child { name: "status", json_name: "status", index: None, node: Node::Typed(&self.status) });
        visit(Child {
            name: "effective",
            json_name: "effectiveDateTime",
            index: None,
            node: Node::Typed(&self.effective),
        });
        visit(Child { name: "value", json_name: "valueQuantity", index: None, node: Node::Typed(&self.value) });
        for (i, n) in self.note.iter().enumerate() {
            visit(Child { name: "note", json_name: "note", index: Some(i), node: Node::Typed(n) });
        }
    }
}

fn prim<T: crate::primitives::FhirPrimitive>(v: T) -> crate::element::PrimitiveElement<T, JsonValue> {
    crate::element::PrimitiveElement::new(v)
}

#[test]
fn typed_values_are_walked_with_their_own_types() {
    use crate::primitives::{Code, DateTime, Decimal as FhirDecimal};
    let obs = TypedObs {
        status: prim(Code::new("final").unwrap()),
        effective: prim(DateTime::new("2024-05-01T10:00:00+05:00").unwrap()),
        value: TypedQuantity { value: prim(FhirDecimal::new("72.50").unwrap()), code: prim(Code::new("kg").unwrap()) },
        note: vec![prim("a".into()), prim("b".into())],
    };
    let node = Node::Typed(&obs);
    let env = Env::new(node);
    let run = |src: &str| {
        evaluate(&parse(src).unwrap(), node, &env).unwrap().iter().map(|v| v.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(run("Observation.value.value"), vec!["72.50"]);
    assert_eq!(run("value is Quantity and status is code and status is string and status.is(id).not()"), vec!["true"]);
    assert_eq!(run("value > 72000 'g' and value < 73 'kg'"), vec!["true"]);
    assert_eq!(run("effective > @2024-05-01T04:59:00Z and effective < @2024-05-01T05:01:00Z"), vec!["true"]);
    assert_eq!(run("effective.is(dateTime) and (effective as dateTime).exists()"), vec!["true"]);
    assert_eq!(run("note.count() = 2 and note.last() = 'b' and children().count() = 5"), vec!["true"]);
    assert_eq!(run("Patient.exists()"), vec!["false"]);
    assert_eq!(check_node(&parse("status = 'final' implies value.exists()").unwrap(), node, node), Some(true));
    assert_eq!(check_node(&parse("status = 'amended'").unwrap(), node, node), Some(false));
}

#[test]
fn extreme_values_give_errors_or_empty_never_panics() {
    let cases = [
        "@2014-01-01 + 9223372036854775807 years",
        "@2014-01-01 + 9223372036854775807 months",
        "@2014-01-01T10:00:00+14:00 + 100000000000000 'ms'",
        "@T10:00 + 99999999999999999999999999999999999999.0 'h'",
        "99999999999999999999999999999999999999.0 * 10",
        "99999999999999999999999999999999999999.0 div -0.1",
        "(-99999999999999999999999999999999999999.0) mod 0.3",
        "99999999999999999999999999999999999999.0 / 0.00000000000000000000000001",
        "9223372036854775807 + 1",
        "(-9223372036854775807 - 1).abs()",
        "2.power(9999999)",
        "1.0 'µm2'.toQuantity('m2')",
        "- -1.5 = 1.5",
        "0.00000000000000000000000000000000000001.round(40)",
        "1.587.highBoundary(28) | 99999999999999999999999999999999999999.0.lowBoundary()",
    ];
    let v = JsonValue::parse("{}").unwrap();
    for c in cases {
        let e = parse(c).unwrap_or_else(|e| panic!("{c}: {e}"));
        let _ = evaluate(&e, Node::json(&v), &Env::new(Node::json(&v)));
    }
    assert_eq!(eval_str("- -1.5 = 1.5", "{}").unwrap(), vec!["true"]);
}

/// Found by the `fhirpath` fuzz target on the former parser: a backslash before a
/// multi-byte character inside a string made it slice inside the character and panic.
#[test]
fn fuzz_regression_escape_before_a_multibyte_character() {
    let inputs = [
        "%nin$In'\r\\x\\t(\\d$\r\\x$$$n$d$$\\t(\\\u{4db}t.dt.",
        "'\\\u{4db}'",
        "'a\\é'.length()",
        "`\\\u{1F600}`",
    ];
    for src in inputs {
        // An error or a value, never a panic.
        let _ = parse(src).map(|e| evaluate(&e, Node::json(&crate::json::JsonValue::Null), &Env::empty()));
    }
}

#[test]
fn html_checks_on_narrative_text() {
    let cases = [
        (r#"<div xmlns="http://www.w3.org/1999/xhtml"><p>ok</p></div>"#, true),
        ("<DIV><P>ok</P><H1>t</H1></DIV>", true),
        ("<div><script>x</script></div>", false),
        (r#"<div><a href="JavaScript:x">y</a></div>"#, false),
        (r#"<div onclick="x">y</div>"#, false),
        ("<div>onclick</div>", true),
        ("<div> on it: ONLOAD</div>", false),
        ("<div> on it: onlo</div>", true),
        ("<div><!-- c --><?pi?></div>", true),
        ("<div></ p></div>", false),
        ("<div>a < b</div>", false),
        ("<div><blockquote2>x</blockquote2></div>", false),
        ("<div>é<b>x</b>ü</div>", true),
        ("<div>x<", false),
        ("no markup", true),
        ("<div>ONMOUSEover then on</div>", false),
        ("<div>x on</div>", true),
        ("<div>onerro and on</div>", true),
        ("<div> On<b>onError</b></div>", false),
    ];
    for (text, ok) in cases {
        let expr = format!("'{}'.htmlChecks()", text.replace('\'', "\\'"));
        assert_eq!(run(&expr, "{}"), Some(ok), "{text}");
    }
}
