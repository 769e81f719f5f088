//! Rules the FHIR R5 specification states in prose (not as FHIRPath invariants) that the
//! HL7 reference validator enforces without a terminology server, checked natively in one
//! linear walk of the value, on read and by `validate()`.
//!
//! Each rule cites the section of the specification it comes from. Rules that are already
//! invariants (`txt-1`, `txt-2`, `ref-1`, `bdl-*`, `per-1`, …) are not repeated here.
//!
//! | rule | where | severity |
//! |---|---|---|
//! | [`XHTML_DIV`] | `Narrative.div` | error |
//! | [`ABSOLUTE_SYSTEM`] | `Identifier.system`, `Coding.system`, `Quantity.system` | error |
//! | [`REFERENCE_FORMAT`] | `Reference.reference` | error |
//! | [`FULL_URL_AGREES`] | `Bundle.entry.fullUrl` | error (malformed), warning (disagrees with the id) |
//! | [`ATTACHMENT`] | `Attachment.size`, `Attachment.contentType` | error |
//! | [`UCUM_SYNTAX`] | `Quantity.code` when `system` is UCUM | error |
//! | [`STRING_CONTENT`] | every `string` and `markdown` | error (size), warning (only whitespace) |
//!
//! Only typed values are walked (JSON kept as is is not), nothing deeper than
//! [`crate::json::MAX_DEPTH`], and no check looks at more than its own element and
//! children, so the cost is linear in the size of the value.

use crate::must_support::text;
use crate::read::{Issue, IssueKind, Reader, Severity};
use crate::reflect::{Node, PrimitiveValue};
use crate::validate::Walked;

/// `Narrative.div` is an XHTML `div` in the XHTML namespace, and well formed (every start
/// tag closed, in order).
///
/// Spec: [narrative.html § Narrative](https://hl7.org/fhir/R5/narrative.html#Narrative)
/// ("The div element SHALL have the XHTML namespace") and
/// [json.html § xhtml](https://hl7.org/fhir/R5/json.html#xhtml) (the XHTML is a `div`
/// with the namespace `http://www.w3.org/1999/xhtml`, well-formed XML). The HL7
/// validator reports a wrong or missing namespace and unparseable XHTML as errors. The
/// allowed elements and attributes are `txt-1`, the non-whitespace content `txt-2`.
pub const XHTML_DIV: &str = "xhtml-div";

/// `Identifier.system`, `Coding.system` and `Quantity.system` are absolute URIs (a
/// scheme, then `:`); `urn:oid:` and `urn:uuid:` values are well formed.
///
/// Spec: [datatypes.html § Identifier](https://hl7.org/fhir/R5/datatypes.html#Identifier)
/// (`system`: "an absolute URL that describes a set values that are unique"),
/// [§ Coding](https://hl7.org/fhir/R5/datatypes.html#Coding) and
/// [§ Quantity](https://hl7.org/fhir/R5/datatypes.html#Quantity) (the system is a URI
/// identifying the code system; OIDs as `urn:oid:`, UUIDs as `urn:uuid:`). The HL7
/// validator: "Coding.system must be an absolute reference, not a local reference".
pub const ABSOLUTE_SYSTEM: &str = "absolute-system";

/// `Reference.reference` is a literal reference in one of the forms the specification
/// defines: a contained reference (`#id`), an absolute URI (`http…`, `urn:uuid:…`,
/// `urn:oid:…`, well formed), a conditional reference (`Type?query`, in transactions), or
/// a relative reference `Type/id` or `Type/id/_history/vid`, where `Type` is an R5
/// resource type and `id` matches the `id` datatype.
///
/// Spec: [references.html § Literal references](https://hl7.org/fhir/R5/references.html#literal)
/// and its regular expression for RESTful references
/// (`((http|https)://([A-Za-z0-9\-\\\.\:\%\$]*\/)+)?(Account|…)\/[A-Za-z0-9\-\.]{1,64}(\/_history\/[A-Za-z0-9\-\.]{1,64})?`).
pub const REFERENCE_FORMAT: &str = "reference-format";

/// A Bundle entry's `fullUrl` agrees with its resource's id: an `http(s)` fullUrl ends
/// with `Type/id` of the entry's resource; a `urn:uuid:`/`urn:oid:` fullUrl is well
/// formed.
///
/// Spec: [bundle.html § Resource URL & Uniqueness rules](https://hl7.org/fhir/R5/bundle.html#bundle-unique)
/// ("fullUrl SHALL NOT disagree with the id in the resource"; "if the fullUrl is not a
/// urn:uuid, the URL shall be version–independent URL consistent with the Resource.id").
/// Uniqueness (`bdl-7`) and version-specific fullUrls (`bdl-8`) are invariants.
///
/// A malformed `urn:` fullUrl is an error; a fullUrl that disagrees with the resource id
/// is a warning: three of the official R5 examples (`Bundle-10bb101f-…`,
/// `Bundle-3a0707d3-…`: `Patient/pat12` for `pat2`; `Bundle-lri-example`:
/// `Observation/lri-gramstain1` for `gramstain1`) break the rule, and reading them must
/// not fail.
pub const FULL_URL_AGREES: &str = "bundle-fullurl";

/// `Attachment.size` equals the number of bytes in `Attachment.data` (decoded), and
/// `Attachment.contentType` is a MIME type (`type/subtype`, optional `;` parameters).
///
/// Spec: [datatypes.html § Attachment](https://hl7.org/fhir/R5/datatypes.html#Attachment)
/// (`size`: "The number of bytes of data that make up this content (before base64
/// encoding, if that is done)"; `contentType`: a BCP 13 (RFC 2045/2046) MIME type).
/// The HL7 validator: "Stated Attachment Size … does not match actual attachment size".
pub const ATTACHMENT: &str = "attachment";

/// A `Quantity` (or `Age`, `Duration`, …) whose `system` is UCUM
/// (`http://unitsofmeasure.org`) has a `code` that is UCUM syntax: printable ASCII
/// without spaces, balanced `(…)` and `[…]`, closed `{…}` annotations, no empty term.
///
/// Spec: [datatypes.html § Quantity](https://hl7.org/fhir/R5/datatypes.html#Quantity)
/// ("the system SHALL be `http://unitsofmeasure.org`" for UCUM units, and the code a UCUM
/// code) with [UCUM](https://ucum.org/ucum) § 2.1 (the case-sensitive syntax). Whether
/// the unit exists needs a UCUM service; only the syntax is checked here.
pub const UCUM_SYNTAX: &str = "ucum-syntax";

/// `string` and `markdown` values are at most 1,048,576 characters (an error), and
/// should contain some non-whitespace content (a warning).
///
/// Spec: [datatypes.html § string](https://hl7.org/fhir/R5/datatypes.html#string)
/// ("strings SHALL NOT exceed 1,048,576 characters in size"; "strings SHOULD always
/// contain non-whitespace content"). The HL7 validator warns about whitespace-only
/// values. Reading already refuses a longer string (the `string` primitive's own
/// check); this rule finds one in a value built in code.
pub const STRING_CONTENT: &str = "string-content";

const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";
/// The `div`'s namespace declaration, as it is written (no text is built per narrative).
const XHTML_NS_ATTRIBUTE: &str = "xmlns=\"http://www.w3.org/1999/xhtml\"";
const XHTML_NS_ATTRIBUTE_SINGLE_QUOTED: &str = "xmlns='http://www.w3.org/1999/xhtml'";
const UCUM: &str = "http://unitsofmeasure.org";
/// The largest `string` R5 allows, in characters.
pub use crate::primitives::MAX_STRING_CHARS;

/// The resource types of FHIR R5, sorted (for relative references).
const RESOURCE_TYPES: &[&str] = &[
    "Account",
    "ActivityDefinition",
    "ActorDefinition",
    "AdministrableProductDefinition",
    "AdverseEvent",
    "AllergyIntolerance",
    "Appointment",
    "AppointmentResponse",
    "ArtifactAssessment",
    "AuditEvent",
    "Basic",
    "Binary",
    "BiologicallyDerivedProduct",
    "BiologicallyDerivedProductDispense",
    "BodyStructure",
    "Bundle",
    "CapabilityStatement",
    "CarePlan",
    "CareTeam",
    "ChargeItem",
    "ChargeItemDefinition",
    "Citation",
    "Claim",
    "ClaimResponse",
    "ClinicalImpression",
    "ClinicalUseDefinition",
    "CodeSystem",
    "Communication",
    "CommunicationRequest",
    "CompartmentDefinition",
    "Composition",
    "ConceptMap",
    "Condition",
    "ConditionDefinition",
    "Consent",
    "Contract",
    "Coverage",
    "CoverageEligibilityRequest",
    "CoverageEligibilityResponse",
    "DetectedIssue",
    "Device",
    "DeviceAssociation",
    "DeviceDefinition",
    "DeviceDispense",
    "DeviceMetric",
    "DeviceRequest",
    "DeviceUsage",
    "DiagnosticReport",
    "DocumentReference",
    "Encounter",
    "EncounterHistory",
    "Endpoint",
    "EnrollmentRequest",
    "EnrollmentResponse",
    "EpisodeOfCare",
    "EventDefinition",
    "Evidence",
    "EvidenceReport",
    "EvidenceVariable",
    "ExampleScenario",
    "ExplanationOfBenefit",
    "FamilyMemberHistory",
    "Flag",
    "FormularyItem",
    "GenomicStudy",
    "Goal",
    "GraphDefinition",
    "Group",
    "GuidanceResponse",
    "HealthcareService",
    "ImagingSelection",
    "ImagingStudy",
    "Immunization",
    "ImmunizationEvaluation",
    "ImmunizationRecommendation",
    "ImplementationGuide",
    "Ingredient",
    "InsurancePlan",
    "InventoryItem",
    "InventoryReport",
    "Invoice",
    "Library",
    "Linkage",
    "List",
    "Location",
    "ManufacturedItemDefinition",
    "Measure",
    "MeasureReport",
    "Medication",
    "MedicationAdministration",
    "MedicationDispense",
    "MedicationKnowledge",
    "MedicationRequest",
    "MedicationStatement",
    "MedicinalProductDefinition",
    "MessageDefinition",
    "MessageHeader",
    "MolecularSequence",
    "NamingSystem",
    "NutritionIntake",
    "NutritionOrder",
    "NutritionProduct",
    "Observation",
    "ObservationDefinition",
    "OperationDefinition",
    "OperationOutcome",
    "Organization",
    "OrganizationAffiliation",
    "PackagedProductDefinition",
    "Parameters",
    "Patient",
    "PaymentNotice",
    "PaymentReconciliation",
    "Permission",
    "Person",
    "PlanDefinition",
    "Practitioner",
    "PractitionerRole",
    "Procedure",
    "Provenance",
    "Questionnaire",
    "QuestionnaireResponse",
    "RegulatedAuthorization",
    "RelatedPerson",
    "RequestOrchestration",
    "Requirements",
    "ResearchStudy",
    "ResearchSubject",
    "RiskAssessment",
    "Schedule",
    "SearchParameter",
    "ServiceRequest",
    "Slot",
    "Specimen",
    "SpecimenDefinition",
    "StructureDefinition",
    "StructureMap",
    "Subscription",
    "SubscriptionStatus",
    "SubscriptionTopic",
    "Substance",
    "SubstanceDefinition",
    "SubstanceNucleicAcid",
    "SubstancePolymer",
    "SubstanceProtein",
    "SubstanceReferenceInformation",
    "SubstanceSourceMaterial",
    "SupplyDelivery",
    "SupplyRequest",
    "Task",
    "TerminologyCapabilities",
    "TestPlan",
    "TestReport",
    "TestScript",
    "Transport",
    "ValueSet",
    "VerificationResult",
    "VisionPrescription",
];

/// Checks the rules of this module on every element of `root` (at `root_path`).
pub fn check(root: Node<'_>, root_path: &str, reader: &mut Reader) {
    let mut issues = Vec::new();
    crate::validate::walk_elements(root, checks_leaf, &mut |nodes, at, children| check_at(nodes, at, children, root_path, &mut issues));
    for i in issues {
        reader.push_issue(i);
    }
}

/// True for the types of leaves (primitives with a value and no children) that
/// [`check_at`] checks: walks need not visit other leaves for it.
#[inline]
pub(crate) fn checks_leaf(ty: &str) -> bool {
    matches!(ty, "xhtml" | "string" | "markdown")
}

/// [`check`] on node `at` of a walk of the whole value (validation checks everything in
/// one walk), adding what it finds to `issues`; its children are `nodes[children]`.
/// Inline: which rule applies is told from the node's type where the walk visits it, so
/// the nodes no rule is about (most) cost no call.
#[inline]
pub(crate) fn check_at(nodes: &[Walked<'_>], at: usize, children: std::ops::Range<usize>, root_path: &str, issues: &mut Vec<Issue>) {
    let rule: fn(&Ctx<'_, '_>, &mut Vec<Issue>) = match nodes[at].ty {
        "xhtml" => xhtml,
        "string" | "markdown" => string_content,
        "Identifier" | "Coding" => system,
        "Quantity" | "Age" | "Count" | "Distance" | "Duration" | "SimpleQuantity" | "MoneyQuantity" => quantity,
        "Reference" => reference,
        "Attachment" => attachment,
        "BackboneElement" if nodes[at].json_name == "entry" && at != 0 && nodes[nodes[at].parent()].ty == "Bundle" => full_url,
        _ => return,
    };
    rule(&Ctx { nodes, at, children: &nodes[children], root_path }, issues);
}

/// The rules of a `Quantity` (and its profiles): an absolute system, UCUM syntax.
fn quantity(ctx: &Ctx<'_, '_>, issues: &mut Vec<Issue>) {
    system(ctx, issues);
    ucum(ctx, issues);
}

struct Ctx<'n, 'a> {
    nodes: &'n [Walked<'a>],
    at: usize,
    /// The node's children, as the walk listed them: what the checks read of the node
    /// is there, without visiting it again.
    children: &'n [Walked<'a>],
    root_path: &'n str,
}

impl<'a> Ctx<'_, 'a> {
    /// The text of the node's child `name`, as [`child_text`] finds it.
    fn child_text(&self, name: &str) -> Option<&'a str> {
        crate::validate::listed_child_text(self.children, name)
    }

    /// The node's first child `name`.
    fn child_node(&self, name: &str) -> Option<Node<'a>> {
        self.children.iter().find(|c| c.name == name).map(|c| c.node)
    }

    fn path(&self) -> String {
        crate::validate::walked_path(self.nodes, self.at, self.root_path)
    }

    fn child_path(&self, name: &str) -> String {
        format!("{}.{name}", self.path())
    }
}

fn push(
    issues: &mut Vec<Issue>,
    severity: Severity,
    kind: IssueKind,
    path: String,
    rule: &str,
    message: String,
) {
    issues.push(Issue {
        severity,
        kind,
        path,
        message: format!("{message} ({rule})"),
    });
}

fn child_text<'a>(node: Node<'a>, name: &str) -> Option<&'a str> {
    let mut out = None;
    node.visit_child(name, &mut |c| {
        if out.is_none() && c.json_name == name {
            out = c.node.primitive().and_then(text);
        }
    });
    out
}

/// Escapes control characters and cuts long values for messages.
fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(80).flat_map(char::escape_debug).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

// --- XHTML_DIV ---------------------------------------------------------------------

fn xhtml(ctx: &Ctx<'_, '_>, issues: &mut Vec<Issue>) {
    let node = ctx.nodes[ctx.at].node;
    let Some(PrimitiveValue::String(s)) = node.primitive() else {
        return;
    };
    if let Err(problem) = xhtml_problem(s) {
        push(
            issues,
            Severity::Error,
            IssueKind::InvalidValue,
            ctx.path(),
            XHTML_DIV,
            format!("narrative XHTML: {problem}"),
        );
    }
}

/// The first problem with a narrative `div`, if any.
pub fn xhtml_problem(s: &str) -> Result<(), String> {
    let body = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let Some(rest) = body.strip_prefix("<div") else {
        return Err("must be a <div> element".into());
    };
    let end = rest.find('>').ok_or("the <div> start tag is not closed")?;
    let attrs = &rest[..end];
    let ns_ok = attrs.contains(XHTML_NS_ATTRIBUTE) || attrs.contains(XHTML_NS_ATTRIBUTE_SINGLE_QUOTED);
    if !ns_ok {
        return Err(format!(
            "the <div> must be in the XHTML namespace (xmlns=\"{XHTML_NS}\")"
        ));
    }
    // Well-formedness of the tags: every start tag closed in order (comments, CDATA and
    // processing instructions skipped; attribute values may hold '>').
    let mut open: Vec<&str> = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix("!--") {
            let e = r.find("-->").ok_or("an unclosed comment")?;
            rest = &r[e + 3..];
            continue;
        }
        if let Some(r) = rest.strip_prefix("![CDATA[") {
            let e = r.find("]]>").ok_or("an unclosed CDATA section")?;
            rest = &r[e + 3..];
            continue;
        }
        if rest.starts_with('?') || rest.starts_with('!') {
            let e = rest.find('>').ok_or("an unclosed declaration")?;
            rest = &rest[e + 1..];
            continue;
        }
        let closing = rest.starts_with('/');
        let name_start = usize::from(closing);
        let name_len = rest[name_start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.')))
            .unwrap_or(rest.len() - name_start);
        let name = &rest[name_start..name_start + name_len];
        if name.is_empty() {
            return Err("a '<' that starts no tag (write &lt;)".into());
        }
        let tag_end = tag_end(&rest[name_start + name_len..])
            .ok_or_else(|| format!("the tag <{}> is not closed", shown(name)))?;
        let tag = &rest[..name_start + name_len + tag_end];
        rest = &rest[name_start + name_len + tag_end + 1..];
        if closing {
            match open.pop() {
                Some(o) if o == name => {}
                Some(o) => return Err(format!("</{}> closes <{}>", shown(name), shown(o))),
                None => return Err(format!("</{}> closes nothing", shown(name))),
            }
        } else if !tag.ends_with('/') {
            open.push(name);
        }
        if open.is_empty()
            && !rest
                .trim_matches(|c: char| c.is_ascii_whitespace())
                .is_empty()
        {
            return Err("content after the closing </div>".into());
        }
    }
    match open.last() {
        Some(o) => Err(format!("<{}> is not closed", shown(o))),
        None => Ok(()),
    }
}

/// The index of the `>` ending a tag whose remainder (after the name) is `s`, skipping
/// quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

// --- ABSOLUTE_SYSTEM -----------------------------------------------------------------

fn system(ctx: &Ctx<'_, '_>, issues: &mut Vec<Issue>) {
    let Some(system) = ctx.child_text("system") else {
        return;
    };
    if let Err(problem) = absolute_uri(system) {
        let what = ctx.nodes[ctx.at].ty;
        push(
            issues,
            Severity::Error,
            IssueKind::InvalidValue,
            ctx.child_path("system"),
            ABSOLUTE_SYSTEM,
            format!("{what}.system '{}' {problem}", shown(system)),
        );
    }
}

/// The length of `s`'s URI scheme (`http` of `http://…`): what comes before its first
/// `:`, when that is a letter followed by letters, digits, `+`, `-` and `.`; `None` when
/// `s` has no such scheme. One pass over the scheme's bytes, stopping at the first byte
/// a scheme cannot have.
fn scheme_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    if !bytes.first().is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let len = bytes.iter().position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))?;
    (bytes[len] == b':').then_some(len)
}

/// `Ok` for an absolute URI (`scheme:…`), with `urn:oid:`/`urn:uuid:` well formed.
pub fn absolute_uri(s: &str) -> Result<(), String> {
    let scheme_len = scheme_len(s).ok_or("must be an absolute URI (scheme:…), not a local reference")?;
    if s.len() == scheme_len + 1 {
        return Err("has nothing after its scheme".into());
    }
    if let Some(oid) = s.strip_prefix("urn:oid:") {
        if !is_oid(oid) {
            return Err(
                "is not a well-formed urn:oid: (dot-separated numbers, starting with 0, 1 or 2)"
                    .into(),
            );
        }
    }
    if let Some(uuid) = s.strip_prefix("urn:uuid:") {
        if !is_uuid(uuid) {
            return Err("is not a well-formed urn:uuid: (8-4-4-4-12 hexadecimal digits)".into());
        }
    }
    Ok(())
}

fn is_oid(s: &str) -> bool {
    let mut arcs = s.split('.');
    matches!(arcs.next(), Some("0" | "1" | "2"))
        && s.contains('.')
        && arcs.all(|a| {
            a == "0"
                || (!a.is_empty() && !a.starts_with('0') && a.bytes().all(|b| b.is_ascii_digit()))
        })
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

// --- REFERENCE_FORMAT ----------------------------------------------------------------

fn reference(ctx: &Ctx<'_, '_>, issues: &mut Vec<Issue>) {
    let Some(r) = ctx.child_text("reference") else {
        return;
    };
    if let Err(problem) = reference_problem(r) {
        push(
            issues,
            Severity::Error,
            IssueKind::InvalidValue,
            ctx.child_path("reference"),
            REFERENCE_FORMAT,
            format!("reference '{}' {problem}", shown(r)),
        );
    }
}

fn is_fhir_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Where the names of [`RESOURCE_TYPES`] that start with each letter `A`..=`Z` begin
/// (the last entry is its length): a name is looked for among those of its first letter,
/// a handful, comparing the bytes only of one of its length.
const RESOURCE_TYPES_BY_LETTER: [usize; 27] = {
    let mut starts = [RESOURCE_TYPES.len(); 27];
    let mut letter = 26;
    while letter > 0 {
        letter -= 1;
        // The first name whose first byte is `A + letter` or later.
        let mut i = 0;
        while i < RESOURCE_TYPES.len() && RESOURCE_TYPES[i].as_bytes()[0] < b'A' + letter as u8 {
            i += 1;
        }
        starts[letter] = i;
    }
    starts
};

/// Whether `ty` is an R5 resource type.
fn is_resource_type(ty: &str) -> bool {
    let letter = match ty.as_bytes().first() {
        Some(b) if b.is_ascii_uppercase() => usize::from(b - b'A'),
        _ => return false,
    };
    let names = &RESOURCE_TYPES[RESOURCE_TYPES_BY_LETTER[letter]..RESOURCE_TYPES_BY_LETTER[letter + 1]];
    names.iter().any(|name| name.len() == ty.len() && *name == ty)
}

/// `s` split at its first `byte`, an ASCII byte (so both parts are whole text): what
/// `str::split_once` gives for that character, without the character searcher's code
/// (this runs on every reference and extension URL of a document).
pub(crate) fn split_once_ascii(s: &str, byte: u8) -> Option<(&str, &str)> {
    debug_assert!(byte.is_ascii());
    let at = s.bytes().position(|b| b == byte)?;
    Some((&s[..at], &s[at + 1..]))
}

/// `Ok` when `r` is one of the literal reference forms of references.html.
pub fn reference_problem(r: &str) -> Result<(), String> {
    if r.starts_with('#') {
        return Ok(());
    }
    if r.starts_with("urn:") {
        return absolute_uri(r);
    }
    if scheme_len(r).is_some() {
        return Ok(());
    }
    // A conditional reference (transactions): Type?query.
    if let Some((ty, _)) = split_once_ascii(r, b'?') {
        return if is_resource_type(ty) {
            Ok(())
        } else {
            Err(format!(
                "is a conditional reference to '{}', which is not a resource type",
                shown(ty)
            ))
        };
    }
    // `Type/id` or `Type/id/_history/vid`, taken apart without collecting the parts.
    let mut rest = Some(r);
    let mut next = || {
        let part = rest?;
        let (head, tail) = match split_once_ascii(part, b'/') {
            Some((head, tail)) => (head, Some(tail)),
            None => (part, None),
        };
        rest = tail;
        Some(head)
    };
    let (ty, id, history) = match (next(), next(), next(), next(), next()) {
        (Some(ty), Some(id), None, _, _) => (ty, id, None),
        (Some(ty), Some(id), Some("_history"), Some(vid), None) => (ty, id, Some(vid)),
        _ => return Err("is not a relative reference Type/id (or Type/id/_history/vid), a #contained id or an absolute URI".into()),
    };
    if !is_resource_type(ty) {
        return Err(format!(
            "names '{}', which is not an R5 resource type",
            shown(ty)
        ));
    }
    if !is_fhir_id(id) || history.is_some_and(|v| !is_fhir_id(v)) {
        return Err("has an id that is not 1-64 of A-Z, a-z, 0-9, '-' and '.'".into());
    }
    Ok(())
}

// --- FULL_URL_AGREES -----------------------------------------------------------------

fn full_url(ctx: &Ctx<'_, '_>, issues: &mut Vec<Issue>) {
    let Some(url) = ctx.child_text("fullUrl") else {
        return;
    };
    let path = ctx.child_path("fullUrl");
    if url.starts_with("urn:") {
        if let Err(problem) = absolute_uri(url) {
            push(
                issues,
                Severity::Error,
                IssueKind::InvalidValue,
                path,
                FULL_URL_AGREES,
                format!("fullUrl '{}' {problem}", shown(url)),
            );
        }
        return;
    }
    let Some(resource) = ctx.child_node("resource") else {
        return;
    };
    let (Some(ty), Some(id)) = (resource.fhir_type(), child_text(resource, "id")) else {
        return;
    };
    let base = url.split('|').next().unwrap_or(url);
    let expected = format!("/{ty}/{id}");
    if !(base.ends_with(&expected) || base == &expected[1..]) {
        push(
            issues,
            Severity::Warning,
            IssueKind::InvalidValue,
            path,
            FULL_URL_AGREES,
            format!(
                "fullUrl '{}' disagrees with the entry's resource {ty}/{}: it should end with {}",
                shown(url),
                shown(id),
                shown(&expected)
            ),
        );
    }
}

// --- ATTACHMENT ----------------------------------------------------------------------

fn attachment(ctx: &Ctx<'_, '_>, issues: &mut Vec<Issue>) {
    let node = ctx.nodes[ctx.at].node;
    if let Some(ct) = ctx.child_text("contentType") {
        if !is_mime_type(ct) {
            push(
                issues,
                Severity::Error,
                IssueKind::InvalidValue,
                ctx.child_path("contentType"),
                ATTACHMENT,
                format!(
                    "contentType '{}' is not a MIME type (type/subtype)",
                    shown(ct)
                ),
            );
        }
    }
    let size = {
        let mut out = None;
        node.visit_child("size", &mut |c| {
            out = match c.node.primitive() {
                Some(PrimitiveValue::Integer(i)) => Some(i),
                Some(PrimitiveValue::String(s) | PrimitiveValue::Decimal(s)) => {
                    s.parse::<i64>().ok()
                }
                _ => out,
            }
        });
        out
    };
    let data = ctx.child_text("data");
    if let (Some(size), Some(data)) = (size, data) {
        let actual = base64_len(data);
        if actual != size as u64 || size < 0 {
            push(
                issues,
                Severity::Error,
                IssueKind::InvalidValue,
                ctx.child_path("size"),
                ATTACHMENT,
                format!("stated attachment size {size} does not match the size of its data ({actual} bytes)"),
            );
        }
    }
}

/// The number of bytes base64 text decodes to (whitespace ignored).
pub fn base64_len(data: &str) -> u64 {
    let mut n = 0u64;
    let mut pad = 0u64;
    for b in data.bytes() {
        match b {
            b'=' => pad += 1,
            b if b.is_ascii_whitespace() => {}
            _ => n += 1,
        }
    }
    let total = n + pad;
    ((total / 4) * 3).saturating_sub(pad.min(2))
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
}

/// True for `type/subtype` with optional `; name=value` parameters (RFC 2045 § 5.1).
pub fn is_mime_type(s: &str) -> bool {
    let mut parts = s.split(';');
    let Some((ty, sub)) = parts.next().and_then(|m| m.trim().split_once('/')) else {
        return false;
    };
    is_token(ty)
        && is_token(sub)
        && parts.all(|p| match p.trim().split_once('=') {
            Some((k, v)) => is_token(k.trim()) && !v.trim().is_empty(),
            None => false,
        })
}

// --- UCUM_SYNTAX ---------------------------------------------------------------------

fn ucum(ctx: &Ctx<'_, '_>, issues: &mut Vec<Issue>) {
    if ctx.child_text("system") != Some(UCUM) {
        return;
    }
    let Some(code) = ctx.child_text("code") else {
        return;
    };
    if let Err(problem) = ucum_syntax(code) {
        push(
            issues,
            Severity::Error,
            IssueKind::InvalidValue,
            ctx.child_path("code"),
            UCUM_SYNTAX,
            format!("'{}' is not a UCUM code: {problem}", shown(code)),
        );
    }
}

/// `Ok` when `code` follows UCUM's syntax (not whether its units exist).
pub fn ucum_syntax(code: &str) -> Result<(), String> {
    if code.is_empty() {
        return Err("empty".into());
    }
    let mut depth_paren = 0usize;
    let mut in_bracket = false;
    let mut in_brace = false;
    let mut prev_operator = true; // at the start: a term must follow ('/' may lead)
    for (i, c) in code.char_indices() {
        if in_brace {
            if c == '}' {
                in_brace = false;
                prev_operator = false;
            } else if c == '{' || !(' '..='~').contains(&c) {
                return Err(format!("'{}' inside an annotation", c.escape_debug()));
            }
            continue;
        }
        if !c.is_ascii_graphic() {
            return Err(format!("character {:?} is not allowed", c));
        }
        if in_bracket {
            match c {
                ']' => {
                    in_bracket = false;
                    prev_operator = false;
                }
                '[' => return Err("nested '['".into()),
                _ => {}
            }
            continue;
        }
        match c {
            '{' => in_brace = true,
            '[' => in_bracket = true,
            '(' => {
                depth_paren += 1;
                prev_operator = true;
            }
            ')' => {
                if depth_paren == 0 || prev_operator {
                    return Err("unbalanced or empty ')'".into());
                }
                depth_paren -= 1;
            }
            '.' | '/' => {
                if prev_operator && !(c == '/' && (i == 0 || code[..i].ends_with('('))) {
                    return Err(format!("'{c}' without a unit before it"));
                }
                prev_operator = true;
            }
            '}' | ']' => return Err(format!("unbalanced '{c}'")),
            _ => prev_operator = false,
        }
    }
    if in_brace || in_bracket || depth_paren > 0 {
        return Err("an unclosed '(', '[' or '{'".into());
    }
    if prev_operator {
        return Err("ends with an operator".into());
    }
    Ok(())
}

// --- STRING_CONTENT ------------------------------------------------------------------

fn string_content(ctx: &Ctx<'_, '_>, issues: &mut Vec<Issue>) {
    let node = ctx.nodes[ctx.at].node;
    let Some(PrimitiveValue::String(s)) = node.primitive() else {
        return;
    };
    if s.len() > MAX_STRING_CHARS && s.chars().count() > MAX_STRING_CHARS {
        push(
            issues,
            Severity::Error,
            IssueKind::InvalidValue,
            ctx.path(),
            STRING_CONTENT,
            format!(
                "a string of {} characters: R5 allows at most {MAX_STRING_CHARS}",
                s.chars().count()
            ),
        );
    } else if !s.is_empty() && s.chars().all(char::is_whitespace) {
        push(
            issues,
            Severity::Warning,
            IssueKind::InvalidValue,
            ctx.path(),
            STRING_CONTENT,
            "the value is only whitespace; strings should have non-whitespace content".into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_at_an_ascii_byte_is_splitting_at_that_character() {
        for s in ["", "/", "a/b", "Patient/1/_history/2", "é/ü?x", "no-separator", "a//", "?q", "urn:x|1.0|2"] {
            for c in ['/', '?', '|'] {
                assert_eq!(split_once_ascii(s, c as u8), s.split_once(c), "{s:?} at {c:?}");
            }
        }
        // The reference forms taken apart by it, as before.
        assert!(reference_problem("Patient/1").is_ok());
        assert!(reference_problem("Patient/1/_history/2").is_ok());
        assert!(reference_problem("Patient?identifier=x").is_ok());
        assert!(reference_problem("Patient/").is_err());
        assert!(reference_problem("Patient/1/_history/2/x").is_err());
        assert!(reference_problem("Patient/1/other/2").is_err());
        assert!(reference_problem("Nope/1").is_err());
        assert!(reference_problem("Nope?x").is_err());
    }

    #[test]
    fn resource_types_are_sorted() {
        assert!(RESOURCE_TYPES.windows(2).all(|w| w[0] < w[1]));
        assert!(RESOURCE_TYPES.binary_search(&"Patient").is_ok());
        // The lookup by first letter finds every name, and nothing else.
        assert!(RESOURCE_TYPES.iter().all(|t| is_resource_type(t)));
        for other in ["", "patient", "Patien", "Patients", "Zzz", "Account ", "Ab", "Y", "[", "@", "Ä"] {
            assert!(!is_resource_type(other), "{other}");
        }
    }

    #[test]
    fn xhtml() {
        assert_eq!(XHTML_NS_ATTRIBUTE, format!("xmlns=\"{XHTML_NS}\""));
        assert_eq!(XHTML_NS_ATTRIBUTE_SINGLE_QUOTED, format!("xmlns='{XHTML_NS}'"));
        assert!(xhtml_problem("<div xmlns='http://www.w3.org/1999/xhtml'>a</div>").is_ok());
        assert!(
            xhtml_problem(r#"<div xmlns="http://www.w3.org/1999/xhtml"><p>a<br/>b</p></div>"#)
                .is_ok()
        );
        assert!(xhtml_problem(
            r#"<div xmlns="http://www.w3.org/1999/xhtml"><!-- c --><a href="x>y">z</a></div>"#
        )
        .is_ok());
        assert!(xhtml_problem("<div><p>a</p></div>").is_err());
        assert!(xhtml_problem(r#"<div xmlns="http://www.w3.org/1999/xhtml"><p>a</div>"#).is_err());
        assert!(xhtml_problem(r#"<div xmlns="http://www.w3.org/1999/xhtml">a < b</div>"#).is_err());
        assert!(xhtml_problem(r#"<div xmlns="http://www.w3.org/1999/xhtml">a</div><p/>"#).is_err());
    }

    #[test]
    fn uris_and_references() {
        assert!(absolute_uri("http://loinc.org").is_ok());
        assert!(absolute_uri("urn:oid:1.2.3").is_ok());
        assert!(absolute_uri("urn:oid:1.02").is_err());
        assert!(absolute_uri("urn:uuid:a5f1b2c3-0000-4000-8000-000000000001").is_ok());
        assert!(absolute_uri("urn:uuid:123").is_err());
        assert!(absolute_uri("loinc").is_err());
        assert!(absolute_uri("/fhir/cs").is_err());
        assert!(absolute_uri("a+b.c-d:x").is_ok());
        assert!(absolute_uri("1http:x").is_err());
        assert!(absolute_uri("ht tp:x").is_err());
        assert!(absolute_uri(":x").is_err());
        assert!(absolute_uri("http:").is_err());
        for ok in [
            "Patient/1",
            "Patient/a.b-c/_history/2",
            "#p1",
            "#",
            "http://x.org/fhir/Patient/1",
            "urn:uuid:a5f1b2c3-0000-4000-8000-000000000001",
            "Patient?identifier=x",
        ] {
            assert!(reference_problem(ok).is_ok(), "{ok}");
        }
        for bad in [
            "Patient",
            "Patient/",
            "Pateint/1",
            "Patient/1/2",
            "Patient/a b",
            "urn:uuid:1",
            "Foo?x=1",
        ] {
            assert!(reference_problem(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn attachments_and_ucum() {
        assert_eq!(base64_len("aGVsbG8="), 5);
        assert_eq!(base64_len("aGVsbG8h"), 6);
        assert_eq!(base64_len("aGVs\nbA=="), 4);
        assert_eq!(base64_len("=="), 0);
        assert!(is_mime_type("text/plain; charset=utf-8"));
        assert!(is_mime_type("application/fhir+json"));
        assert!(!is_mime_type("pdf"));
        assert!(!is_mime_type("text/"));
        for ok in [
            "mg", "mg/dL", "/min", "kg.m/s2", "[in_i]", "10*3/uL", "{score}", "1", "%", "mm[Hg]",
            "g/(8.h)",
        ] {
            assert!(ucum_syntax(ok).is_ok(), "{ok}");
        }
        for bad in ["mg dL", "", "mg/", "(mg", "mg]", "{x", "mg//dL", "()"] {
            assert!(ucum_syntax(bad).is_err(), "{bad}");
        }
    }
}
