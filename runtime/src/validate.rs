//! Profile validation over typed values (or JSON, through the same [`Node`] interface):
//! what the typed structs cannot express.
//!
//! The generated struct of a profile already enforces the cardinality and types of its
//! own fields while reading. The rules here cover the rest of the profile's snapshot:
//! cardinality inside datatypes and slices (`Patient.identifier:nationalId.value` is
//! `1..1`), elements the profile forbids, fixed and pattern values, required bindings
//! wherever they are, slice cardinality, and FHIRPath invariants. The generator emits
//! the rules as static tables; this module only interprets them.

use crate::fhirpath;
use crate::fhirpath::native::Compiled;
use crate::json::JsonObject;
use crate::must_support::{has_value, Expected, is_complex, render, visit_key, visit_matching, KeyMatch, SliceTest, Step};
use crate::read::{Issue, IssueKind, ReadError, ReadMode, Reader, Severity};
use crate::reflect::{Node, PrimitiveValue, Reflect};
use crate::terminology::CodeSet;

/// How to read the coded value of an element for a binding check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodedKind {
    /// `code`, `string`, `uri`: the value itself.
    Scalar,
    /// `Coding`: `system` + `code`.
    Coding,
    /// `CodeableConcept`: at least one of its codings (when it has any).
    CodeableConcept,
    /// `CodeableReference`: its `concept`.
    CodeableReference,
}

/// A constraint on one element of a profile.
#[derive(Debug)]
pub struct ElementRule {
    /// The element id, for messages.
    pub id: &'static str,
    /// Where the element is, from the resource root.
    pub steps: &'static [Step],
    /// Minimum count per parent.
    pub min: u32,
    /// Maximum count per parent (`None` = `*`).
    pub max: Option<u32>,
    /// A fixed (`exact`) or pattern JSON value, as JSON text.
    pub value: Option<(&'static str, bool)>,
    /// A required binding.
    pub binding: Option<(CodeSet, CodedKind)>,
}

/// A FHIRPath invariant.
#[derive(Debug)]
pub struct InvariantRule {
    /// Invariant key (`uzcore-gender-other-2`).
    pub key: &'static str,
    /// True for `error` severity, false for `warning`.
    pub error: bool,
    /// The human description.
    pub human: &'static str,
    /// The FHIRPath expression (checked at generation time to be in the supported subset).
    pub expression: &'static str,
    /// Where it applies, from the resource root (empty: the resource itself).
    pub steps: &'static [Step],
}

impl InvariantRule {
    /// The message of a violation: `invariant {key} violated: {human} ({expression})`,
    /// put together without the formatting machinery (most documents violate one, the
    /// `dom-6` warning of a resource without narrative).
    fn violation(&self) -> String {
        let parts = ["invariant ", self.key, " violated: ", self.human, " (", self.expression, ")"];
        let mut msg = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        for p in parts {
            msg.push_str(p);
        }
        msg
    }
}

/// A located value: a node and where it is ([`Segs`]).
#[derive(Clone, Copy)]
pub(crate) struct Located<'a> {
    node: Node<'a>,
    /// Its segment in the walk's [`Segs`]; 0 for the node the walk started from.
    at: usize,
}

/// The locations of a walk's nodes, each a step (`.name` or `.name[index]`) after its
/// parent's, kept in one list so that finding a node costs no allocation; the text is
/// built only for an issue ([`Segs::path`]).
pub(crate) struct Segs<'a>(Vec<Seg<'a>>);

struct Seg<'a> {
    parent: usize,
    name: &'a str,
    index: Option<usize>,
}

impl<'a> Segs<'a> {
    fn new() -> Self {
        let mut segs = Vec::with_capacity(128);
        segs.push(Seg { parent: 0, name: "", index: None });
        Segs(segs)
    }

    /// The location of `l` as text, below `root_path`.
    fn path(&self, l: &Located<'_>, root_path: &str) -> String {
        linked_path(root_path, l.at, |i| (self.0[i].parent, self.0[i].name, self.0[i].index))
    }
}

fn step_children<'a>(segs: &mut Segs<'a>, parent: Located<'a>, step: &Step, out: &mut Vec<Located<'a>>) {
    let start = out.len();
    visit_key(parent.node, step.key, &mut |c| {
        segs.0.push(Seg { parent: parent.at, name: c.json_name, index: c.index });
        out.push(Located { node: c.node, at: segs.0.len() - 1 });
    });
    keep_slice_members(out, start, step, |l| l.node);
}

/// When `step` selects a slice: keeps, of `items[start..]`, the members of the slice, in
/// order, in one pass (`node` gives an item's node).
fn keep_slice_members<'a, T>(items: &mut Vec<T>, start: usize, step: &Step, node: impl Fn(&T) -> Node<'a>) {
    if !step.is_slice() {
        return;
    }
    let mut kept = start;
    for i in start..items.len() {
        let n = node(&items[i]);
        if is_complex(n) && step.accepts(n) {
            items.swap(kept, i);
            kept += 1;
        }
    }
    items.truncate(kept);
}

/// The nodes at `steps` from `root`. `walked` is the element walk from `root` (its
/// nodes; empty when there was none): the children of a node it listed are taken from
/// its list, as [`RuleTree::find`] takes them, and the others are visited. Nothing is
/// allocated when the first step finds nothing (a constraint on an element the document
/// leaves out).
pub(crate) fn walk<'a>(segs: &mut Segs<'a>, root: Node<'a>, walked: &[Walked<'a>], steps: &[Step]) -> Vec<Located<'a>> {
    if steps.is_empty() {
        return vec![Located { node: root, at: 0 }];
    }
    let root = (Located { node: root, at: 0 }, if walked.is_empty() { NOT_FOUND_IN_WALK } else { 0 });
    let mut current: Vec<(Located<'a>, u32)> = Vec::new();
    for (k, step) in steps.iter().enumerate() {
        let mut next = Vec::new();
        for &(parent, walk) in if k == 0 { std::slice::from_ref(&root) } else { &current[..] } {
            let start = next.len();
            match walked.get(walk as usize).and_then(Walked::listed) {
                Some(children) => {
                    let key = KeyMatch::of(step.key);
                    for (i, c) in walked[children.clone()].iter().enumerate() {
                        if key.matches(c.name, c.json_name) {
                            segs.0.push(Seg { parent: parent.at, name: c.json_name, index: c.index() });
                            next.push((Located { node: c.node, at: segs.0.len() - 1 }, (children.start + i) as u32));
                        }
                    }
                }
                None => visit_key(parent.node, step.key, &mut |c| {
                    segs.0.push(Seg { parent: parent.at, name: c.json_name, index: c.index });
                    next.push((Located { node: c.node, at: segs.0.len() - 1 }, NOT_FOUND_IN_WALK));
                }),
            }
            keep_slice_members(&mut next, start, step, |(l, _)| l.node);
        }
        current = next;
        if current.is_empty() {
            break;
        }
    }
    current.into_iter().map(|(l, _)| l).collect()
}

/// The nodes found after each step of the last walk (see [`descend`]).
type Levels<'s, 'a> = Vec<(&'s Step, Vec<Located<'a>>)>;

/// Walks `steps` from `root`, reusing the levels of the previous walk that it shares a
/// prefix with (checks come in snapshot order, so most share their first steps); then
/// `levels` holds the nodes after each step, the last one those at `steps`.
fn descend<'s, 'a>(levels: &mut Levels<'s, 'a>, segs: &mut Segs<'a>, root: Node<'a>, steps: &'s [Step]) {
    let common = levels.iter().zip(steps).take_while(|((s, _), t)| same_step(s, t)).count();
    levels.truncate(common);
    for step in &steps[common..] {
        let mut next = Vec::new();
        match levels.last() {
            Some((_, prev)) => {
                for p in prev {
                    step_children(segs, *p, step, &mut next);
                }
            }
            None => step_children(segs, Located { node: root, at: 0 }, step, &mut next),
        }
        levels.push((step, next));
    }
}

/// How a node of a [`RuleTree`] is found in an instance.
#[derive(Clone, Copy)]
enum Edge {
    /// The resource itself (node 0).
    Root,
    /// The children at JSON member `key` (see [`visit_key`]) of each node of `parent`.
    Member { parent: u32, matcher: KeyMatch<'static> },
    /// The members of a slice: those of node `members` (the sliced element's children,
    /// all of them) that `step` accepts (`test`, read from `step`).
    Slice { members: usize, step: &'static Step, test: usize },
}

impl Edge {
    /// True when both edges select the same nodes.
    fn same(&self, other: &Edge) -> bool {
        match (self, other) {
            (Edge::Root, Edge::Root) => true,
            (Edge::Member { parent: p, matcher: k }, Edge::Member { parent: q, matcher: l }) => p == q && k == l,
            (Edge::Slice { members: m, step: s, .. }, Edge::Slice { members: n, step: t, .. }) => m == n && same_step(s, t),
            _ => false,
        }
    }
}

/// Where a rule of the table applies in a [`RuleTree`], with what a document without
/// problems needs of it (so that the table's rule itself is read only for an issue, a
/// value or a binding).
#[derive(Clone, Copy)]
struct RuleNodes {
    /// The rule's position in the table.
    rule: u32,
    /// The node of the rule's parents (0, the root, for a rule of one step).
    parents: u32,
    /// The node of the rule's items (its parents' children at its last step).
    items: u32,
    /// The rule's `min`.
    min: u32,
    /// The rule's `max` (`u32::MAX` for `*`).
    max: u32,
    /// What is checked of each item (a fixed or pattern value, a binding): its position
    /// in [`RuleTree::item_checks`], [`NO_ITEM_CHECK`] for none.
    item_check: u32,
}

/// [`RuleNodes::item_check`] of a rule that checks only how many items there are.
const NO_ITEM_CHECK: u32 = u32::MAX;

/// What a rule checks of each of its items, copied out of the rule when its tree is
/// compiled: the rules of a profile's tree are then read from one short list, and the
/// rule itself only for an issue's message.
struct ItemCheck {
    /// A fixed (`true`) or pattern (`false`) value.
    value: Option<(Expected, bool)>,
    /// The membership test of a required binding, and how to read the item's codes.
    binding: Option<(crate::terminology::Membership, CodedKind)>,
}

/// A rules table compiled into a tree of steps: every distinct walk prefix of the rules
/// is one node, found once per instance, so rules that share a prefix (all the rules
/// below a slice, the sibling slices of one element) share its walk, wherever they are
/// in the table; the children of a sliced element are visited once and each slice picks
/// its members among them. Nodes come after the nodes they are found from, so one pass
/// in node order finds them all.
struct RuleTree {
    nodes: Vec<Edge>,
    /// The tests of the [`Edge::Slice`] nodes.
    slice_tests: Vec<SliceTest>,
    /// The rules of the table with something to check, in table order.
    rules: Vec<RuleNodes>,
    /// What those rules check of each item ([`RuleNodes::item_check`]).
    item_checks: Vec<ItemCheck>,
}

impl RuleTree {
    /// True for a rule with something to check.
    fn checks(rule: &ElementRule) -> bool {
        rule.min > 0 || rule.max.is_some() || rule.value.is_some() || rule.binding.is_some()
    }

    fn compile(rules: &[ElementRule]) -> Self {
        let mut nodes = vec![Edge::Root];
        let mut slice_tests = Vec::new();
        /// The node of `edge`, added unless an equal one is there (once per table, so a
        /// linear search will do).
        fn node_of(nodes: &mut Vec<Edge>, edge: Edge) -> usize {
            match nodes.iter().position(|e| e.same(&edge)) {
                Some(i) => i,
                None => {
                    nodes.push(edge);
                    nodes.len() - 1
                }
            }
        }
        let mut item_checks = Vec::new();
        let compiled = rules
            .iter()
            .enumerate()
            .filter_map(|(position, rule)| {
                if !Self::checks(rule) || rule.steps.is_empty() {
                    return None;
                }
                let (mut parents, mut at) = (0, 0);
                for step in rule.steps {
                    parents = at;
                    at = node_of(&mut nodes, Edge::Member { parent: u32::try_from(at).ok()?, matcher: KeyMatch::of(step.key) });
                    if step.is_slice() {
                        let added = nodes.len();
                        at = node_of(&mut nodes, Edge::Slice { members: at, step, test: slice_tests.len() });
                        if at == added {
                            slice_tests.push(SliceTest::new(step));
                        }
                    }
                }
                // Tables and trees are far smaller than `u32::MAX` entries (a generated
                // table of that size would not compile); one that is not is not checked.
                let index = |n: usize| u32::try_from(n).ok();
                let item_check = if rule.value.is_some() || rule.binding.is_some() {
                    item_checks.push(ItemCheck::of(rule));
                    index(item_checks.len() - 1).filter(|&i| i != NO_ITEM_CHECK)?
                } else {
                    NO_ITEM_CHECK
                };
                Some(RuleNodes { rule: index(position)?, parents: index(parents)?, items: index(at)?, min: rule.min, max: rule.max.unwrap_or(u32::MAX), item_check })
            })
            .collect();
        RuleTree { nodes, slice_tests, rules: compiled, item_checks }
    }

    /// The tree of `rules`, compiled once per thread and table. The table is static, so
    /// its address and length name it for the life of the process (static memory is
    /// never reused, and a rule holds nothing mutable): a lookup reads none of its rules.
    fn of(rules: &'static [ElementRule]) -> std::rc::Rc<RuleTree> {
        use std::cell::RefCell;
        use std::collections::HashMap;
        use std::rc::Rc;
        /// More tables than any generated crate has: beyond it, trees are not kept.
        const MAX_TABLES: usize = 4096;
        thread_local! {
            static TREES: RefCell<HashMap<(usize, usize), Rc<RuleTree>, crate::must_support::AddressHash>> = Default::default();
        }
        let address = (rules.as_ptr() as usize, rules.len());
        if let Some(tree) = TREES.with(|t| t.borrow().get(&address).cloned()) {
            return tree;
        }
        let tree = Rc::new(RuleTree::compile(rules));
        TREES.with(|t| {
            let mut trees = t.borrow_mut();
            if trees.len() < MAX_TABLES {
                trees.insert(address, Rc::clone(&tree));
            }
        });
        tree
    }

    /// Finds the nodes of every tree node in `root`: `found[spans[n].0..spans[n].1]` are
    /// those of node `n`, in document order, each with the position of its parent among
    /// the nodes of the parent tree node.
    ///
    /// `walked` is the element walk of `root` ([`walk_into`]): a node's children are read
    /// from its list where it has them, and visited ([`visit_key`]) where not.
    fn find<'a>(&self, root: Node<'a>, walked: &[Walked<'a>], segs: &mut Segs<'a>, found: &mut Vec<Found<'a>>, spans: &mut Vec<(usize, usize)>) {
        for edge in &self.nodes {
            let start = found.len();
            match *edge {
                Edge::Root => {
                    let walk = if walked.is_empty() { NOT_FOUND_IN_WALK } else { 0 };
                    found.push(Found { located: Located { node: root, at: 0 }, parent: 0, walk });
                }
                Edge::Member { parent, matcher } => {
                    let (from, to) = spans[parent as usize];
                    for position in 0..to - from {
                        let Found { located: p, walk, .. } = found[from + position];
                        let listed = walked.get(walk as usize).and_then(Walked::listed);
                        let Some(children) = listed else {
                            visit_matching(p.node, matcher, &mut |c| {
                                segs.0.push(Seg { parent: p.at, name: c.json_name, index: c.index });
                                found.push(Found { located: Located { node: c.node, at: segs.0.len() - 1 }, parent: position, walk: NOT_FOUND_IN_WALK });
                            });
                            continue;
                        };
                        // What `visit_key` gives for a typed node.
                        for (i, c) in walked[children.clone()].iter().enumerate() {
                            if matcher.matches(c.name, c.json_name) {
                                segs.0.push(Seg { parent: p.at, name: c.json_name, index: c.index() });
                                let walk = (children.start + i) as u32;
                                found.push(Found { located: Located { node: c.node, at: segs.0.len() - 1 }, parent: position, walk });
                            }
                        }
                    }
                }
                Edge::Slice { members, test, .. } => {
                    let (from, to) = spans[members];
                    for i in from..to {
                        let member = found[i];
                        if is_complex(member.located.node) && self.slice_tests[test].accepts(member.located.node) {
                            found.push(member);
                        }
                    }
                }
            }
            spans.push((start, found.len()));
        }
    }
}

/// The lists of the last finished [`validate`] on this thread, emptied, for the next one
/// to reuse (as [`WalkBuffers`] are): a document's rules are checked without allocating
/// them again.
#[derive(Default)]
struct RuleBuffers {
    segs: Vec<Seg<'static>>,
    found: Vec<Found<'static>>,
    spans: Vec<(usize, usize)>,
    /// The codes of an item under a binding check ([`check_item`]).
    codings: Vec<(Option<&'static str>, &'static str)>,
}

thread_local! {
    static RULE_BUFFERS: std::cell::Cell<RuleBuffers> = std::cell::Cell::new(RuleBuffers::default());
}

/// An empty list with another lifetime for its (absent) items, keeping its memory: the
/// lists kept between documents borrow nothing while kept. Collected in place (same
/// layout); the `filter_map` changes the items' type, which `filter` cannot.
fn relabel<T, U>(list: Vec<T>) -> Vec<U> {
    debug_assert!(list.is_empty());
    list.into_iter().filter_map(|_| None).collect()
}

/// A node found for a [`RuleTree`] node.
#[derive(Clone, Copy)]
struct Found<'a> {
    located: Located<'a>,
    /// The position of its parent among the nodes of the parent tree node.
    parent: usize,
    /// Its index in the element walk's list ([`NOT_FOUND_IN_WALK`] when it was found
    /// below a node whose children the walk did not list).
    walk: u32,
}

/// [`Found::walk`] of a node found outside the element walk's list.
const NOT_FOUND_IN_WALK: u32 = u32::MAX;

/// Profiling only (`--cfg dhp_phases`): true when the `DHP_SKIP` environment variable
/// names validation phase `phase`, which [`validate`] then leaves out, so that what each
/// phase costs can be measured (`DHP_SKIP=w dhp_prof validate 2000`): `w` the element
/// walk and all its checks, `b` its base checks (ele-1, ext-1, datatype constraints,
/// references), `t` only the datatype constraints, `e` the extension definitions, `p` the
/// prose rules, `r` the profile's element rules (`k` only their bindings, `v` only their
/// fixed and pattern values), `i` its invariants (`f` only those the types do not
/// decide natively). Without the cfg it is a constant `false`.
#[cfg(dhp_phases)]
fn skipped(phase: char) -> bool {
    use std::sync::atomic::{AtomicU32, Ordering};
    // The letters as bits (`a` bit 0), read from the environment once; bit 31 says read.
    static SKIP: AtomicU32 = AtomicU32::new(0);
    let mut bits = SKIP.load(Ordering::Relaxed);
    if bits == 0 {
        let letters = std::env::var("DHP_SKIP").unwrap_or_default();
        bits = letters.bytes().filter(u8::is_ascii_lowercase).fold(1 << 31, |b, c| b | 1 << (c - b'a'));
        SKIP.store(bits, Ordering::Relaxed);
    }
    phase.is_ascii_lowercase() && bits & (1 << (phase as u8 - b'a')) != 0
}

#[cfg(not(dhp_phases))]
#[inline(always)]
fn skipped(_phase: char) -> bool {
    false
}

/// Checks `rules` and `invariants` against `root` (a resource of type `root_path`),
/// recording every violation on `reader`. `root` is a typed value or, equally, JSON.
pub fn validate(root: Node<'_>, root_path: &str, rules: &'static [ElementRule], invariants: &'static [InvariantRule], reader: &mut Reader) {
    // One walk of every element first, for the base elements' rules, the extension
    // definitions and the prose rules; its issues are kept aside (no allocation until
    // one) and recorded after the profile's, in that order, as three walks would have
    // (`reader` drops the repeats as it would have on the way in). The profile's rules
    // then find their elements in the walk's list.
    let extension_rules = match root {
        Node::Typed(r) => r.extension_rules().map(crate::extension_rules::Lookup::of),
        Node::Json { .. } => None,
    };
    let mut base = BaseElements::new(root, root_path);
    let (mut base_issues, mut extension_issues, mut prose_issues) = (Vec::new(), Vec::new(), Vec::new());
    let WalkBuffers { nodes, mut stack } = WALK_BUFFERS.with(|b| b.replace(WalkBuffers { nodes: Vec::new(), stack: Vec::new() }));
    let mut walked = relabel(nodes);
    if !skipped('w') {
        walk_into(root, &mut walked, &mut stack, crate::prose_rules::checks_leaf, &mut |nodes, at, children| {
            if !skipped('b') {
                base.visit(nodes, at, children.clone(), &mut base_issues);
            }
            if let Some(rules) = extension_rules.filter(|_| !skipped('e')) {
                crate::extension_rules::check_at(nodes, at, children.clone(), root_path, rules, &mut extension_issues);
            }
            if !skipped('p') {
                crate::prose_rules::check_at(nodes, at, children, root_path, &mut prose_issues);
            }
        });
    }
    let RuleBuffers { segs, found, spans, codings } = RULE_BUFFERS.with(|b| b.take());
    let (mut segs, mut found, mut spans, mut codings) = (Segs(relabel(segs)), relabel(found), spans, relabel(codings));
    segs.0.push(Seg { parent: 0, name: "", index: None });
    let root_only = [Located { node: root, at: 0 }];
    let tree = RuleTree::of(rules);
    let tree_rules: &[RuleNodes] = if skipped('r') { &[] } else { &tree.rules };
    if !tree_rules.is_empty() {
        tree.find(root, &walked, &mut segs, &mut found, &mut spans);
    }
    for nodes in tree_rules {
        // A rule is looked at only where its parents are present (most rules of a
        // profile are below elements an instance leaves out).
        let (from, to) = spans[nodes.parents as usize];
        if from == to {
            continue;
        }
        let parents = &found[from..to];
        let rule = &rules[nodes.rule as usize];
        let all_items = &found[spans[nodes.items as usize].0..spans[nodes.items as usize].1];
        // The items come grouped by parent, in the parents' order.
        let mut next = 0;
        for (position, parent) in parents.iter().enumerate() {
            let start = next;
            while next < all_items.len() && all_items[next].parent == position {
                next += 1;
            }
            let items = &all_items[start..next];
            let parent = &parent.located;
            if parent.at != 0 && !has_value(parent.node) {
                continue;
            }
            let n = items.len() as u32;
            if n < nodes.min || n > nodes.max {
                cardinality_issue(rule, n, parent, items, &segs, root_path, reader);
            }
            if let Some(check) = tree.item_checks.get(nodes.item_check as usize) {
                for item in items {
                    check_item(rule, check, &item.located, &segs, root_path, &mut codings, reader);
                }
            }
        }
    }
    // A resource inside another (contained, a Bundle entry) is read with a path below its
    // container's. dom-6 (warning: a resource should have a narrative) is not asked of
    // those: the HL7 validator does not report it for contained resources either.
    let nested = root_path.contains('.');
    let invariants = if skipped('i') { &[][..] } else { invariants };
    let table = compiled_all(invariants);
    for (i, inv) in invariants.iter().enumerate() {
        if nested && inv.key == "dom-6" {
            continue;
        }
        // An expression that cannot be parsed is reported before its foci are looked for.
        // One that reads only `%resource` is answered by the resource's type, whatever
        // its focus (`Reflect::native_invariant`).
        let mut asked = None;
        if !inv.steps.is_empty() {
            match compiled_at(table, invariants, i) {
                None => {
                    reader.push_issue(unparsed_invariant_issue(inv, root_path));
                    continue;
                }
                Some(compiled) if compiled.resource_only => asked = Some(root),
                Some(_) => {}
            }
        }
        let stepped;
        let foci = if inv.steps.is_empty() {
            &root_only[..]
        } else {
            stepped = walk(&mut segs, root, &walked, inv.steps);
            &stepped[..]
        };
        for &focus in foci {
            // `check_node`'s environment: `%resource` the root, `%context` the focus.
            let env = || {
                let mut env = fhirpath::Env::new(root);
                env.context = vec![fhirpath::Value::of_node(focus.node)];
                env
            };
            // A constraint the focus's type decides from its fields (see
            // `Reflect::native_invariant`), else FHIRPath.
            let holds = match native_answer(asked.unwrap_or(focus.node), inv) {
                Some(holds) => {
                    audit_native(|| table, invariants, i, focus.node, &env, holds);
                    holds
                }
                None if skipped('f') => true,
                None => {
                    let Some(compiled) = compiled_at(table, invariants, i) else {
                        reader.push_issue(unparsed_invariant_issue(inv, root_path));
                        break;
                    };
                    compiled.check(focus.node, &env) != Some(false)
                }
            };
            if !holds {
                reader.push_issue(invariant_issue(inv, segs.path(&focus, root_path)));
            }
        }
    }
    // The lists are kept for the next document (emptied: they borrow nothing then),
    // unless one document made them long.
    if segs.0.capacity() <= KEPT_WALK_NODES && found.capacity() <= KEPT_WALK_NODES && codings.capacity() <= KEPT_WALK_NODES {
        let (mut segs, mut found, mut spans) = (segs.0, found, spans);
        segs.clear();
        found.clear();
        spans.clear();
        codings.clear();
        RULE_BUFFERS.with(|b| b.set(RuleBuffers { segs: relabel(segs), found: relabel(found), spans, codings: relabel(codings) }));
    }
    keep_walk_buffers(walked, stack);
    // Most documents have none: their merge is not run.
    if !(base_issues.is_empty() && extension_issues.is_empty() && prose_issues.is_empty()) {
        for i in base_issues.into_iter().chain(extension_issues).chain(prose_issues) {
            reader.push_issue(i);
        }
    }
}

/// One node of [`walk_elements`]: where it is, found from its parent.
pub(crate) struct Walked<'a> {
    pub(crate) node: Node<'a>,
    /// Its FHIR type ([`Node::fhir_type`], empty when it has none): asked once, when the
    /// node is listed, as every check of the node (and of its parent) needs it.
    pub(crate) ty: &'a str,
    /// A primitive with a value and no children ([`Reflect::type_and_leaf`]): its
    /// children are not visited, and what only other nodes have is not asked of it.
    pub(crate) leaf: bool,
    /// The parent's index (0 for the root, which is its own parent): see
    /// [`Walked::parent`].
    parent_at: u32,
    /// The element name (`value` for `valueQuantity`).
    pub(crate) name: &'a str,
    /// The JSON member name.
    pub(crate) json_name: &'a str,
    /// The item's index in its array, [`NOT_AN_ITEM`] for a single element: see
    /// [`Walked::index`].
    item: u32,
    /// JSON nesting, 1 for the root: see [`Walked::depth`].
    nesting: u32,
    /// The index of the resource the node is in (its own for a resource): `%resource`
    /// of the datatype constraints checked on it. Known from the parent as the node is
    /// listed, so no list of its own is kept beside this one.
    resource: u32,
    /// The index of that resource's container (`%rootResource`: the resource holding it
    /// as `contained`, else the resource itself).
    root_resource: u32,
    /// Where its children are in the list, once the walk has listed them
    /// ([`NOT_LISTED`] until then, and for good for JSON and nodes not descended into).
    children: (u32, u32),
}

/// [`Walked::item`] of a single element (not an item of an array).
const NOT_AN_ITEM: u32 = u32::MAX;

/// [`Walked::children`] of a node whose children are not listed.
const NOT_LISTED: (u32, u32) = (u32::MAX, u32::MAX);

/// The text of child `name` among `children` (nodes a walk listed): the first one so
/// named, as element and in JSON, with a text value.
pub(crate) fn listed_child_text<'a>(children: &[Walked<'a>], name: &str) -> Option<&'a str> {
    children.iter().filter(|c| c.name == name && c.json_name == name).find_map(|c| c.node.primitive().and_then(crate::must_support::text))
}

impl Walked<'_> {
    /// The parent's index in the walk's list (0 for the root, which is its own parent).
    pub(crate) fn parent(&self) -> usize {
        self.parent_at as usize
    }

    /// The item's index in its array (`None` for a single element).
    pub(crate) fn index(&self) -> Option<usize> {
        (self.item != NOT_AN_ITEM).then_some(self.item as usize)
    }

    /// JSON nesting, 1 for the root.
    pub(crate) fn depth(&self) -> usize {
        self.nesting as usize
    }

    /// Where the node's children are in the walk's list, when the walk listed them.
    fn listed(&self) -> Option<std::ops::Range<usize>> {
        (self.children != NOT_LISTED).then_some(self.children.0 as usize..self.children.1 as usize)
    }
}

impl<'a> Walked<'a> {
    /// True when this node, listed as `nodes[at]`, is a resource: the root, or a member
    /// that holds one ([`is_resource_member`], told when the node was listed: a resource
    /// is its own [`Walked::resource`]).
    pub(crate) fn is_resource(&self, at: usize) -> bool {
        at == 0 || self.resource as usize == at
    }

    /// The node a walk starts from.
    fn root(node: Node<'a>) -> Self {
        let ty = node.fhir_type().unwrap_or("");
        Walked { node, ty, leaf: false, parent_at: 0, name: "", json_name: "", item: NOT_AN_ITEM, nesting: 1, resource: 0, root_resource: 0, children: NOT_LISTED }
    }

    /// Child `c` of `nodes[parent]`, at JSON nesting `depth`, to be listed as `nodes[at]`.
    fn child(c: crate::reflect::Child<'a>, nodes: &[Walked<'a>], parent: usize, depth: usize) -> Self {
        let (ty, leaf) = match c.node {
            Node::Typed(r) => r.type_and_leaf(),
            Node::Json { .. } => (c.node.fhir_type().unwrap_or(""), false),
        };
        Self::typed_child(c, (ty, leaf), nodes, parent, depth)
    }

    /// [`Walked::child`] with the child's type and leafness already known.
    #[inline]
    fn typed_child(c: crate::reflect::Child<'a>, (ty, leaf): (&'a str, bool), nodes: &[Walked<'a>], parent: usize, depth: usize) -> Self {
        let crate::reflect::Child { name, json_name, index, node } = c;
        // A walk lists fewer nodes than `u32::MAX`: each is a value of a document held in
        // memory, many bytes long; a saturated index would only misplace a `%resource`.
        let at = u32::try_from(nodes.len()).unwrap_or(u32::MAX);
        let outer = &nodes[parent];
        // A leaf is a primitive, never a resource: the names are compared only for others.
        let (resource, root_resource) = if leaf {
            (outer.resource, outer.root_resource)
        } else if json_name == "contained" {
            (at, outer.resource)
        } else if is_resource_member(json_name, ty) {
            (at, at)
        } else {
            (outer.resource, outer.root_resource)
        };
        // A leaf has no children: an empty range, listed as it is.
        let children = if leaf { (0, 0) } else { NOT_LISTED };
        // Indexes and nesting far below `u32::MAX` (see above; the walk stops below
        // `MAX_NESTING`); an array index beyond it is not told apart from none.
        let (parent_at, nesting) = (u32::try_from(parent).unwrap_or(u32::MAX), u32::try_from(depth).unwrap_or(u32::MAX));
        let item = index.and_then(|i| u32::try_from(i).ok()).unwrap_or(NOT_AN_ITEM);
        Walked { node, ty, leaf, parent_at, name, json_name, item, nesting, resource, root_resource, children }
    }
}

/// Where a walk lists the children of one value ([`Reflect::list_children`]): what
/// [`Reflect::visit_children`] gives, written straight into the walk's list. The generated
/// types fill it through the helpers of [`crate::visit`] (the same calls as their
/// `visit_children`), with each child's type known statically; any other implementation
/// keeps the default, which lists what `visit_children` gives.
pub struct Lister<'l, 'a> {
    nodes: &'l mut Vec<Walked<'a>>,
    parent: usize,
    depth: usize,
    /// A JSON child named `resourceType` was listed: the value is a resource of a type
    /// not modelled, told by its children (see [`walk_into`]).
    untyped: bool,
}

impl<'a> Lister<'_, 'a> {
    /// Lists a typed child whose FHIR type and leafness are `ty` and `leaf`.
    #[inline]
    pub(crate) fn push(&mut self, name: &'a str, json_name: &'a str, index: Option<usize>, node: &'a dyn Reflect, ty: &'a str, leaf: bool) {
        let c = crate::reflect::Child { name, json_name, index, node: Node::Typed(node) };
        let child = Walked::typed_child(c, (ty, leaf), self.nodes, self.parent, self.depth);
        self.nodes.push(child);
    }

    /// Lists a single typed child (its JSON name its element name) of type `ty`.
    #[inline(never)]
    pub(crate) fn push_one(&mut self, name: &'a str, node: &'a dyn Reflect, ty: &'a str, leaf: bool) {
        self.push(name, name, None, node, ty, leaf);
    }

    /// Lists any typed child.
    #[inline(never)]
    pub(crate) fn push_any(&mut self, name: &'a str, json_name: &'a str, index: Option<usize>, node: &'a dyn Reflect) {
        let (ty, leaf) = node.type_and_leaf();
        self.push(name, json_name, index, node, ty, leaf);
    }

    /// Lists item `index` of a repeating typed child of type `ty`.
    #[inline(never)]
    pub(crate) fn push_item(&mut self, name: &'a str, index: usize, node: &'a dyn Reflect, ty: &'a str, leaf: bool) {
        self.push(name, name, Some(index), node, ty, leaf);
    }

    /// Lists a child as `visit_children` gives it (typed or JSON).
    pub fn push_child(&mut self, c: crate::reflect::Child<'a>) {
        self.untyped |= matches!(c.node, Node::Json { .. }) && c.name == "resourceType";
        let child = Walked::child(c, self.nodes, self.parent, self.depth);
        self.nodes.push(child);
    }
}

/// What [`Reflect::list_children`] lists for `value`, as `(name, JSON name, index, FHIR
/// type, leaf)` per child: for tests that hold it to what `visit_children` gives.
#[doc(hidden)]
pub fn listed_children(value: &dyn Reflect) -> Vec<(String, String, Option<usize>, String, bool)> {
    let mut nodes = vec![Walked::root(Node::Typed(value))];
    value.list_children(&mut Lister { nodes: &mut nodes, parent: 0, depth: 2, untyped: false });
    nodes[1..].iter().map(|w| (w.name.to_string(), w.json_name.to_string(), w.index(), w.ty.to_string(), w.leaf)).collect()
}

/// The lists of the last finished [`walk_elements`] on this thread, emptied, so the next
/// walk (one per document validated) reuses their memory instead of allocating (and
/// freeing) lists of a few kilobytes each time. Taken out while a walk runs, so a walk
/// started inside another simply allocates its own.
struct WalkBuffers {
    nodes: Vec<Walked<'static>>,
    stack: Vec<usize>,
}

/// Lists longer than this (a document of thousands of elements) are freed after their
/// walk rather than kept, so one huge document does not pin its memory to the thread.
const KEPT_WALK_NODES: usize = 2048;

thread_local! {
    static WALK_BUFFERS: std::cell::Cell<WalkBuffers> = const { std::cell::Cell::new(WalkBuffers { nodes: Vec::new(), stack: Vec::new() }) };
}

/// The location of node `at` of a [`walk_elements`] list.
pub(crate) fn walked_path(nodes: &[Walked<'_>], at: usize, root: &str) -> String {
    linked_path(root, at, |i| (nodes[i].parent(), nodes[i].json_name, nodes[i].index()))
}

/// What [`walk_elements`] calls for each node: the nodes listed so far, the node's index,
/// and where its children are in the list.
pub(crate) type EachNode<'f, 'a> = dyn FnMut(&[Walked<'a>], usize, std::ops::Range<usize>) + 'f;

/// Visits every typed node of `root` once, in document order and without recursion:
/// `each(nodes, at, children)` with the nodes listed so far (node `at`'s ancestors among
/// them) and its children (typed or kept as JSON) at `nodes[children]`. A leaf
/// ([`Walked::leaf`]) is visited only when `leaf_checked(its type)` says the caller
/// checks leaves of that type (every leaf is listed among its parent's children all the
/// same). JSON kept as is (unknown elements, resources of types not modelled) is not
/// descended into, nor anything deeper than [`crate::stream::MAX_NESTING`].
pub(crate) fn walk_elements<'a>(root: Node<'a>, leaf_checked: fn(&str) -> bool, each: &mut EachNode<'_, 'a>) {
    let WalkBuffers { mut nodes, mut stack } = WALK_BUFFERS.with(|b| b.replace(WalkBuffers { nodes: Vec::new(), stack: Vec::new() }));
    walk_into(root, &mut nodes, &mut stack, leaf_checked, each);
    keep_walk_buffers(nodes, stack);
}

/// [`walk_elements`] into lists the caller holds: afterwards `nodes` lists every node
/// and, for each one whose children were listed, where they are ([`Walked::children`]).
/// Generic, so that validation's checks and leaf test are called directly (inlined)
/// rather than through a pointer per node.
fn walk_into<'a, L, E>(root: Node<'a>, nodes: &mut Vec<Walked<'a>>, stack: &mut Vec<usize>, leaf_checked: L, each: &mut E)
where
    L: Fn(&str) -> bool,
    E: FnMut(&[Walked<'a>], usize, std::ops::Range<usize>) + ?Sized,
{
    // Room for a typical resource, so the lists seldom grow.
    nodes.reserve(256);
    stack.reserve(64);
    nodes.push(Walked::root(root));
    stack.push(0usize);
    while let Some(at) = stack.pop() {
        let (node, depth) = (nodes[at].node, nodes[at].depth());
        if !matches!(node, Node::Typed(_)) || depth > crate::stream::MAX_NESTING {
            continue;
        }
        if nodes[at].leaf {
            let end = nodes.len();
            each(nodes, at, end..end);
            continue;
        }
        // A resource of a type not modelled ([`untyped_resource`]) is left out. Where a
        // resource can be, it is asked directly: its JSON is not taken apart for its
        // children (`RawResource` builds its tree for that). Anywhere else (an unknown
        // `resourceType` member) it is told by the children, in the same pass over them.
        if nodes[at].is_resource(at) && untyped_resource(node) {
            continue;
        }
        let first = nodes.len();
        let Node::Typed(value) = node else { continue };
        let mut list = Lister { nodes, parent: at, depth: depth + 1, untyped: false };
        value.list_children(&mut list);
        if list.untyped {
            nodes.truncate(first);
            continue;
        }
        // Lists are far shorter than `u32::MAX` nodes (see [`Walked::child`]); a list
        // that is not is not taken for a node's children ([`Walked::listed`]).
        if let (Ok(from), Ok(to)) = (u32::try_from(first), u32::try_from(nodes.len())) {
            nodes[at].children = (from, to);
        }
        each(nodes, at, first..nodes.len());
        let visited = |w: &Walked<'_>| matches!(w.node, Node::Typed(_)) && (!w.leaf || leaf_checked(w.ty));
        let typed = (first..nodes.len()).rev().filter(|&i| visited(&nodes[i]));
        stack.extend(typed);
    }
}

/// Keeps a walk's lists for the next walk on this thread, emptied (see [`WalkBuffers`]).
fn keep_walk_buffers(mut nodes: Vec<Walked<'_>>, stack: Vec<usize>) {
    if nodes.capacity() <= KEPT_WALK_NODES {
        nodes.clear();
        WALK_BUFFERS.with(|b| b.set(WalkBuffers { nodes: relabel(nodes), stack }));
    }
}

const ELE_1: &str = "invariant ele-1 violated: All FHIR elements must have a @value or children (hasValue() or (children().count() > id.count()))";
const EXT_1: &str = "invariant ext-1 violated: Must have either extensions or value[x], not both (extension.exists() != value.exists())";

/// The base specification's `ele-1` (`hasValue() or (children().count() > id.count())`, on
/// every element) and `ext-1` (`extension.exists() != value.exists()`, on every
/// extension), checked natively in the walk of the whole value ([`walk_elements`]) instead of evaluating their
/// FHIRPath once per element: the same result (an element whose only child is `id` has no
/// value; an extension needs exactly one of `extension` and `value[x]`), reported at the
/// element's location with kind [`IssueKind::Invariant`], for a fraction of the cost.
/// Resources (the root, `contained`, Bundle entries) are not elements and are skipped for
/// `ele-1`; JSON kept as is (unknown elements, resources of types not modelled) is not
/// walked; nothing deeper than [`crate::stream::MAX_NESTING`] is visited.
///
/// The same walk applies what each value's type says ([`Reflect::type_info`]): the
/// constraints of its datatype (`ref-1`, `per-1`, `qty-3`, …, with `%resource` the
/// resource the value is in and `%rootResource` its container) and the target types of
/// its reference elements. These are checked from the outermost resource only (a
/// resource read inside another is checked with it, where `%rootResource` is known), so
/// each value is checked once.
struct BaseElements<'a, 'p> {
    root: Node<'a>,
    root_path: &'p str,
    nested: bool,
    /// The types of the resources each container holds, by id (built once per container,
    /// so local references cost constant time each).
    /// Made at the first local reference (a map's hasher state is not made per document).
    contained_ids: Option<std::collections::HashMap<usize, std::collections::HashMap<&'a str, &'a str>>>,
    /// The types of a Bundle's entries by `fullUrl` (`urn:uuid:…` references resolve there).
    entries: Option<std::collections::HashMap<&'a str, &'a str>>,
}

impl<'a, 'p> BaseElements<'a, 'p> {
    fn new(root: Node<'a>, root_path: &'p str) -> Self {
        let nested = root_path.contains('.');
        BaseElements { root, root_path, nested, contained_ids: None, entries: None }
    }

    /// Checks node `at` (its children are `nodes[children]`).
    fn visit(&mut self, nodes: &[Walked<'a>], at: usize, children: std::ops::Range<usize>, issues: &mut Vec<Issue>) {
        // A leaf has a value (no `ele-1`), is no extension and has no type info.
        if nodes[at].leaf {
            return;
        }
        let (root_path, node) = (self.root_path, nodes[at].node);
        if at != 0 {
            let children = &nodes[children.clone()];
            // The cheap tests first: the value is asked only of a node without children
            // (the first child not named `id` ends the scan, usually the first).
            let other_than_id = children.iter().any(|c| c.name != "id");
            if !other_than_id && !is_resource_member(nodes[at].json_name, nodes[at].ty) && node.primitive().is_none() {
                issues.push(issue(IssueKind::Invariant, walked_path(nodes, at, root_path), ELE_1.to_string()));
            }
            if nodes[at].ty == "Extension" {
                let extensions = children.iter().any(|c| c.name == "extension");
                // A member kept as JSON (unknown, or a value type the definition forbids,
                // reported as such) is not the extension's value.
                let value = children
                    .iter()
                    .any(|c| matches!(c.node, Node::Typed(_)) && (c.name == "value" || (c.name.starts_with("value") && c.name.len() > 5)));
                if extensions == value {
                    issues.push(issue(IssueKind::Invariant, walked_path(nodes, at, root_path), EXT_1.to_string()));
                }
            }
        }
        if self.nested {
            return;
        }
        let Node::Typed(r) = node else { return };
        let Some(info) = r.type_info() else { return };
        let (resource_at, root_resource_at) = (nodes[at].resource as usize, nodes[at].root_resource as usize);
        let (resource, root_resource) = (nodes[resource_at].node, nodes[root_resource_at].node);
        if !info.invariants.is_empty() && !skipped('t') {
            let path = || walked_path(nodes, at, root_path);
            check_type_invariants(info.invariants, node, &path, resource, root_resource, issues);
        }
        let typed = || children.clone().filter(|&i| matches!(nodes[i].node, Node::Typed(_)));
        if !info.element_invariants.is_empty() {
            for i in typed() {
                let element = nodes[i].name;
                if let Some((_, invariants)) = info.element_invariants.iter().find(|(n, _)| *n == element) {
                    let path = || walked_path(nodes, i, root_path);
                    check_type_invariants(invariants, nodes[i].node, &path, resource, root_resource, issues);
                }
            }
        }
        if !info.references.is_empty() {
            for i in typed() {
                // A Reference, or a CodeableReference's `reference`.
                let (reference, suffix) = match nodes[i].ty {
                    "Reference" => (nodes[i].node, ""),
                    "CodeableReference" => {
                        let mut inner = None;
                        nodes[i].node.visit_child("reference", &mut |c| inner = Some(c.node));
                        match inner {
                            Some(r) => (r, ".reference"),
                            None => continue,
                        }
                    }
                    _ => continue,
                };
                let element = nodes[i].name;
                let Some((_, targets)) = info.references.iter().find(|(n, _)| *n == element) else { continue };
                let (literal, declared) = reference_texts(reference);
                // The resource type the literal names; the tables of contained resources
                // and Bundle entries are looked at (and built) only for a literal of theirs.
                let from_literal = match literal {
                    // `#` alone: the container of the resource the reference is in.
                    Some("#") => root_resource.fhir_type(),
                    Some(r) if r.starts_with('#') => {
                        let ids = self.contained_ids.get_or_insert_with(Default::default).entry(root_resource_at).or_insert_with(|| contained_types(root_resource));
                        ids.get(&r[1..]).copied()
                    }
                    Some(r) => {
                        let root = self.root;
                        let entries = self.entries.get_or_insert_with(|| bundle_entry_types(root));
                        entries.get(r).copied().or_else(|| literal_reference_type(r))
                    }
                    None => None,
                };
                if let Some(msg) = reference_problem(literal, from_literal, declared, targets) {
                    let path = walked_path(nodes, i, root_path) + suffix;
                    issues.push(issue(IssueKind::ReferenceTarget, path, msg));
                }
            }
        }
    }
}

/// True for a member that holds a resource (of FHIR type `ty`, empty when it has none):
/// `contained`, a Bundle entry's or a Parameters parameter's `resource`, a Bundle
/// response's `outcome`. Not a primitive (`RelatedArtifact.resource` is a canonical), nor
/// a backbone element or datatype of that name (`CapabilityStatement.rest.resource`).
#[inline]
pub(crate) fn is_resource_member(name: &str, ty: &str) -> bool {
    match name {
        "contained" => true,
        "resource" => {
            ty.starts_with(|c: char| c.is_ascii_uppercase()) && !matches!(ty, "BackboneElement" | "Element" | "Reference" | "CodeableReference")
        }
        "outcome" => ty == "OperationOutcome",
        _ => false,
    }
}

/// Evaluates a datatype's constraints on one value of it (at `path()`, built only for an
/// issue).
fn check_type_invariants(
    invariants: &'static [InvariantRule],
    value: Node<'_>,
    path: &dyn Fn() -> String,
    resource: Node<'_>,
    root_resource: Node<'_>,
    issues: &mut Vec<Issue>,
) {
    // Compiled only when an invariant needs FHIRPath.
    let mut table = None;
    for (i, inv) in invariants.iter().enumerate() {
        // Most datatype constraints are on the value itself: no walk to allocate.
        // Only the value itself (segment 0) until a walk needs more.
        let mut segs = Segs(Vec::new());
        let on_value = [Located { node: value, at: 0 }];
        let stepped;
        let foci = if inv.steps.is_empty() {
            &on_value[..]
        } else {
            segs = Segs::new();
            stepped = walk(&mut segs, value, &[], inv.steps);
            &stepped[..]
        };
        for focus in foci {
            // Built only when the interpreter or the audit needs it.
            let env = || {
                let mut env = fhirpath::Env::new(resource);
                env.root_resource = Some(root_resource);
                env.context = vec![fhirpath::Value::of_node(focus.node)];
                env
            };
            // A constraint the focus's type decides from its fields, else FHIRPath.
            let holds = match native_answer(focus.node, inv) {
                Some(holds) => {
                    audit_native(|| compiled_all(invariants), invariants, i, focus.node, &env, holds);
                    holds
                }
                None => {
                    let Some(compiled) = compiled_at(*table.get_or_insert_with(|| compiled_all(invariants)), invariants, i) else { break };
                    compiled.check(focus.node, &env) != Some(false)
                }
            };
            if !holds {
                issues.push(invariant_issue(inv, segs.path(focus, &path())));
            }
        }
    }
}

/// What the type of `focus` decides of `inv` from its fields
/// ([`Reflect::native_invariant`]), when it does.
fn native_answer(focus: Node<'_>, inv: &InvariantRule) -> Option<bool> {
    match focus {
        Node::Typed(r) => r.native_invariant(inv.expression),
        Node::Json { .. } => None,
    }
}

/// With the audit on ([`fhirpath::auditing`]): counts a type's own answer `holds` for
/// invariant `i` on `focus` against the interpreter's ([`Compiled::audit`]); the table of
/// compiled invariants (`table`) is looked up only then.
fn audit_native<'a>(
    table: impl FnOnce() -> Option<&'static [Option<&'static Compiled>]>,
    invariants: &'static [InvariantRule],
    i: usize,
    focus: Node<'a>,
    env: &dyn Fn() -> fhirpath::Env<'a>,
    holds: bool,
) {
    if fhirpath::auditing() {
        if let Some(compiled) = compiled_at(table(), invariants, i) {
            compiled.audit(focus, env, Some(holds));
        }
    }
}

/// The issue of an invariant whose expression the interpreter cannot parse (a table
/// not made by the generator, which checks every expression).
#[cold]
fn unparsed_invariant_issue(inv: &InvariantRule, root_path: &str) -> Issue {
    issue(IssueKind::Invariant, root_path.to_string(), format!("invariant {} could not be parsed", inv.key))
}

/// The issue of invariant `inv` violated at `path`: a warning for a warning invariant.
#[cold]
fn invariant_issue(inv: &InvariantRule, path: String) -> Issue {
    let mut i = issue(IssueKind::Invariant, path, inv.violation());
    if !inv.error {
        i.severity = Severity::Warning;
    }
    i
}

/// The string value of child `name` of `node`.
fn child_text<'a>(node: Node<'a>, name: &str) -> Option<&'a str> {
    let mut out = None;
    node.visit_child(name, &mut |c| {
        if let Some(PrimitiveValue::String(s)) = c.node.primitive() {
            out = Some(s);
        }
    });
    out
}

const CORE_SD: &str = "http://hl7.org/fhir/StructureDefinition/";

/// The resource type a literal reference names: `Patient/1`, `Patient/1/_history/2`, an
/// absolute URL ending so; `None` for URNs, canonical-style and other forms.
pub(crate) fn literal_reference_type(reference: &str) -> Option<&str> {
    if reference.starts_with("urn:") {
        return None;
    }
    // One pass over the bytes (references are read on every Reference of a document):
    // where the part before `/_history/` ends, and its last two slashes.
    let bytes = reference.as_bytes();
    let mut end = bytes.len();
    let (mut last_slash, mut slash_before) = (None, None);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'|' | b'?' | b'#' => return None,
            b'/' if end == bytes.len() => {
                if bytes[i..].starts_with(b"/_history/") {
                    end = i;
                } else {
                    (slash_before, last_slash) = (last_slash, Some(i));
                }
            }
            _ => {}
        }
    }
    let last_slash = last_slash?;
    let id = &reference[last_slash + 1..end];
    let ty = &reference[slash_before.map_or(0, |i| i + 1)..last_slash];
    let type_like = ty.starts_with(|c: char| c.is_ascii_uppercase()) && ty.bytes().all(|b| b.is_ascii_alphanumeric());
    (type_like && !id.is_empty()).then_some(ty)
}

/// The `reference` and `type` texts of a Reference, as [`child_text`] finds each, in one
/// pass over its children.
fn reference_texts<'a>(reference: Node<'a>) -> (Option<&'a str>, Option<&'a str>) {
    let (mut literal, mut declared) = (None, None);
    reference.visit_children(&mut |c| {
        let text = match c.name {
            "reference" => &mut literal,
            "type" => &mut declared,
            _ => return,
        };
        if let Some(PrimitiveValue::String(s)) = c.node.primitive() {
            *text = Some(s);
        }
    });
    (literal, declared)
}

/// What is wrong with a reference whose element allows only `targets`: a referenced
/// resource of another type (`from_literal`, what its `literal` reference names: a
/// relative or absolute URL's type, a contained resource's type for `#id`, a Bundle
/// entry's; or its `type` element, `declared`), or a `reference` and `type` that disagree.
fn reference_problem(literal: Option<&str>, from_literal: Option<&str>, declared: Option<&str>, targets: &[&str]) -> Option<String> {
    let declared = declared.and_then(|t| match t.strip_prefix(CORE_SD) {
        Some(rest) => Some(rest),
        None if !t.contains(':') && !t.contains('/') => Some(t),
        None => None,
    });
    if let (Some(a), Some(b), Some(r)) = (from_literal, declared, literal) {
        if a != b {
            return Some(format!("reference '{r}' is to a {a}, but its type says {b}"));
        }
    }
    let actual = from_literal.or(declared)?;
    if targets.contains(&actual) {
        return None;
    }
    let what = match literal {
        Some(r) => format!("'{r}'"),
        None => format!("type {actual}"),
    };
    Some(format!("a reference to a {actual} ({what}) is not allowed here: Reference({})", targets.join(" | ")))
}

/// The type of each entry's resource of `root` when it is a Bundle, by the entry's
/// `fullUrl` (the first of a URL); empty otherwise.
fn bundle_entry_types(root: Node<'_>) -> std::collections::HashMap<&str, &str> {
    let mut out = std::collections::HashMap::new();
    if root.fhir_type() != Some("Bundle") {
        return out;
    }
    root.visit_child("entry", &mut |entry| {
        let mut ty = None;
        entry.node.visit_child("resource", &mut |r| ty = r.node.fhir_type());
        if let (Some(url), Some(ty)) = (child_text(entry.node, "fullUrl"), ty) {
            out.entry(url).or_insert(ty);
        }
    });
    out
}

/// The type of each resource contained in `container`, by id (the first of an id).
fn contained_types(container: Node<'_>) -> std::collections::HashMap<&str, &str> {
    let mut out = std::collections::HashMap::new();
    container.visit_child("contained", &mut |c| {
        if let (Some(id), Some(ty)) = (child_text(c.node, "id"), c.node.fhir_type()) {
            out.entry(id).or_insert(ty);
        }
    });
    out
}

/// The message for a choice type the definition does not allow, when `key` names one:
/// `valueString` where `choices` has `("value", ["Quantity", "CodeableConcept"])`.
pub(crate) fn choice_type_not_allowed(key: &str, choices: &[(&str, &[&str])]) -> Option<String> {
    // `_valueString`: the primitive's id and extensions, of the same type.
    let key = key.strip_prefix('_').unwrap_or(key);
    for (base, allowed) in choices {
        let Some(suffix) = key.strip_prefix(base) else { continue };
        if FHIR_TYPE_SUFFIXES.contains(&suffix) && !allowed.contains(&suffix) {
            return Some(format!("type {suffix} not allowed for {base}[x]; allowed: {}", allowed.join(", ")));
        }
    }
    None
}

/// The JSON name suffixes of the FHIR R5 types a choice element can have.
const FHIR_TYPE_SUFFIXES: &[&str] = &[
    "Base64Binary", "Boolean", "Canonical", "Code", "Date", "DateTime", "Decimal", "Id", "Instant", "Integer",
    "Integer64", "Markdown", "Oid", "PositiveInt", "String", "Time", "UnsignedInt", "Uri", "Url", "Uuid",
    "Address", "Age", "Annotation", "Attachment", "CodeableConcept", "CodeableReference", "Coding",
    "ContactPoint", "Count", "Distance", "Duration", "HumanName", "Identifier", "Money", "Period", "Quantity",
    "Range", "Ratio", "RatioRange", "Reference", "SampledData", "Signature", "Timing", "ContactDetail",
    "DataRequirement", "Expression", "ParameterDefinition", "RelatedArtifact", "TriggerDefinition",
    "UsageContext", "Availability", "ExtendedContactDetail", "Dosage", "Meta",
];

/// The validation step of a generated reader: checks the typed value it built or, when
/// reading failed before a value could be built (a required element missing), the JSON it
/// read, so the profile's rules are reported either way.
pub fn validate_read(value: Option<&dyn Reflect>, json: &JsonObject, rules: &'static [ElementRule], invariants: &'static [InvariantRule], reader: &mut Reader) {
    let root = reader.path().to_string();
    let node = match value {
        Some(v) => Node::Typed(v),
        None => Node::Typed(json),
    };
    validate(node, &root, rules, invariants, reader);
}

/// Validates a value built in code (or read and changed) without serialising it: what
/// reading its JSON in `mode` would report that the Rust types do not already rule out
/// (empty strings, unknown members, nesting too deep for FHIR JSON readers), then the
/// profile's `rules` and `invariants`, with the same locations and kinds as reading.
/// The generated `validate()` methods call this.
pub fn validate_value(value: &dyn Reflect, rules: &'static [ElementRule], invariants: &'static [InvariantRule], mode: ReadMode) -> ValidationReport {
    let root = value.fhir_type().to_string();
    let mut reader = Reader::new(&root, mode);
    check_structure(Node::Typed(value), &root, mode, &mut reader);
    validate(Node::Typed(value), &root, rules, invariants, &mut reader);
    ValidationReport { issues: reader.into_issues() }
}

/// What [`validate_value`] (and the generated `validate()` methods) found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidationReport {
    /// Every problem, errors and warnings, with its location (`Patient.address[0].city`).
    pub issues: Vec<Issue>,
}

impl ValidationReport {
    /// True when there is no error (warnings may remain): reading the value's JSON would
    /// succeed.
    pub fn is_valid(&self) -> bool {
        self.issues.iter().all(|i| i.severity != Severity::Error)
    }

    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.severity == Severity::Error)
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.severity == Severity::Warning)
    }

    /// `Ok` with the warnings when valid, otherwise `Err` with every issue (as a
    /// [`ReadError`] without JSON, so `?` works where reading errors are handled).
    pub fn into_result(self) -> Result<Vec<Issue>, ReadError> {
        if self.is_valid() {
            Ok(self.issues)
        } else {
            Err(ReadError { issues: self.issues, json: None })
        }
    }
}

impl std::fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} error(s)", self.errors().count())?;
        for issue in &self.issues {
            write!(f, "\n  {issue}")?;
        }
        Ok(())
    }
}

/// Whether JSON kept as is (an unknown member, whose own level is `depth` when it is an
/// object) nests deeper than [`crate::stream::MAX_NESTING`]: without recursion, as a value
/// built in code may nest arbitrarily deep.
fn json_too_deep(value: Option<&crate::json::JsonValue>, depth: usize) -> bool {
    use crate::json::JsonValue;
    let Some(value) = value else { return false };
    // The member's own level: `depth` counts it when it is an object; an array is one more.
    let base = match value {
        JsonValue::Object(_) => depth,
        JsonValue::Array(_) => depth + 1,
        _ => return false,
    };
    let mut stack = vec![(value, base)];
    while let Some((v, level)) = stack.pop() {
        if level > crate::stream::MAX_NESTING {
            return true;
        }
        match v {
            JsonValue::Array(items) => stack.extend(items.iter().filter(|i| matches!(i, JsonValue::Array(_) | JsonValue::Object(_))).map(|i| (i, level + 1))),
            JsonValue::Object(o) => stack.extend(o.iter().map(|(_, i)| i).filter(|i| matches!(i, JsonValue::Array(_) | JsonValue::Object(_))).map(|i| (i, level + 1))),
            _ => {}
        }
    }
    false
}

/// The location (`Patient.name[0].given[1]`) of node `at` of a walk kept as a flat list
/// whose node 0 is the root, at `root`: `link(i)` gives node `i`'s parent, JSON member
/// name and array index. The walks of validation, extension rules and prose rules keep
/// their nodes this way and build a location only for an issue.
pub(crate) fn linked_path<'a>(root: &str, mut at: usize, link: impl Fn(usize) -> (usize, &'a str, Option<usize>)) -> String {
    let mut parts = Vec::new();
    while at != 0 {
        let (parent, name, index) = link(at);
        parts.push((name, index));
        at = parent;
    }
    let mut path = root.to_string();
    for (name, index) in parts.into_iter().rev() {
        path.push('.');
        path.push_str(name);
        if let Some(n) = index {
            use std::fmt::Write;
            let _ = write!(path, "[{n}]");
        }
    }
    path
}

/// Walks the whole value without recursion, reporting what the writer would write and a
/// reader refuse: empty strings, unknown members (errors in strict mode), and nesting
/// deeper than [`crate::stream::MAX_NESTING`], the typed readers' bound, counted as the
/// JSON nests (not descended into, so a value built in code of any depth is safe to
/// validate).
fn check_structure(root: Node<'_>, root_path: &str, mode: ReadMode, reader: &mut Reader) {
    // Nodes as `walk_elements` lists them, `depth` counted as the JSON nests.
    let mut nodes = vec![Walked::root(root)];
    let mut stack = vec![0usize];
    while let Some(at) = stack.pop() {
        let (node, depth) = (nodes[at].node, nodes[at].depth());
        if let Node::Json { .. } = node {
            continue;
        }
        let first = nodes.len();
        if untyped_resource(node) {
            // A resource of a type this crate does not model (kept as JSON): read with a
            // warning, its content unchecked.
            let message = format!("resource type '{}' is not modelled by this crate; kept as JSON", node.fhir_type().unwrap_or(""));
            let path = walked_path(&nodes, at, root_path);
            reader.push_issue(Issue { severity: Severity::Warning, kind: IssueKind::ResourceType, path, message });
            continue;
        }
        // The id and extensions of a primitive are in its `_name` object: one level more.
        let in_sibling = usize::from(!is_complex(node));
        node.visit_children(&mut |c| {
            // JSON nesting: an array adds a level, an object another.
            let depth = depth + in_sibling + usize::from(c.index.is_some()) + usize::from(is_complex(c.node));
            let child = Walked::child(c, &nodes, at, depth);
            nodes.push(child);
        });
        if at != 0 && first == nodes.len() && node.primitive().is_none() && !is_resource_member(nodes[at].json_name, nodes[at].ty) {
            // What the writer would leave out: an object (or a primitive's `_` sibling)
            // with nothing in it, which a reader reports.
            let message = "empty object: FHIR JSON does not allow empty objects (it would be left out when written)".to_string();
            reader.push_issue(Issue { severity: Severity::Error, kind: IssueKind::Structure, path: walked_path(&nodes, at, root_path), message });
        }
        let mut descend = Vec::new();
        // What the parent's type allows: once per parent, not per child.
        let info = match node {
            Node::Typed(r) => r.type_info(),
            Node::Json { .. } => None,
        };
        let (choices, prohibited) = info.map_or((&[][..], &[][..]), |t| (t.choices, t.prohibited));
        for i in first..nodes.len() {
            let v = &nodes[i];
            let problem = match v.node {
                Node::Json { value, sibling } if json_too_deep(value, v.depth()) || json_too_deep(sibling, v.depth()) => Some((
                    IssueKind::Structure,
                    format!("nested deeper than {} levels: FHIR JSON readers refuse it", crate::stream::MAX_NESTING),
                    Severity::Error,
                )),
                Node::Json { .. } if prohibited.contains(&v.json_name) => Some((
                    IssueKind::Cardinality,
                    format!("element '{}' is not allowed by the profile (max = 0)", v.json_name),
                    Severity::Error,
                )),
                Node::Json { .. } => match choice_type_not_allowed(v.json_name, choices) {
                    Some(msg) => Some((IssueKind::Choice, msg, Severity::Error)),
                    None => Some((
                        IssueKind::UnknownElement,
                        format!("unknown element '{}'", v.json_name),
                        if mode == ReadMode::Strict { Severity::Error } else { Severity::Warning },
                    )),
                },
                Node::Typed(_) if v.depth() > crate::stream::MAX_NESTING => Some((
                    IssueKind::Structure,
                    format!("nested deeper than {} levels: FHIR JSON readers refuse it", crate::stream::MAX_NESTING),
                    Severity::Error,
                )),
                Node::Typed(r) => match r.primitive() {
                    Some(PrimitiveValue::String("")) => Some((IssueKind::InvalidValue, "empty string".to_string(), Severity::Error)),
                    _ => None,
                },
            };
            match problem {
                Some((kind, message, severity)) => {
                    // Unknown members are reported once, not per array item.
                    let path = walked_path(&nodes, i, root_path);
                    let path = match (kind, v.index()) {
                        (IssueKind::UnknownElement, Some(_)) => walked_path(&nodes, v.parent(), root_path) + "." + v.json_name,
                        _ => path,
                    };
                    reader.push_issue(Issue { severity, kind, path, message });
                }
                None => descend.push(i),
            }
        }
        // Children are visited in document order.
        stack.extend(descend.into_iter().rev());
    }
}

/// True for a JSON resource behind a typed node (`AnyResource::Other`), as the value
/// says ([`Reflect::is_raw_resource`]): asked of every resource a walk meets, so it is
/// one call rather than a lookup of its `resourceType` child.
fn untyped_resource(node: Node<'_>) -> bool {
    matches!(node, Node::Typed(r) if r.is_raw_resource())
}

#[cold]
fn issue(kind: IssueKind, path: String, message: String) -> Issue {
    Issue { severity: Severity::Error, kind, path, message }
}

/// Records that `n` items (`items`, below `parent`) break `rule`'s cardinality.
#[cold]
fn cardinality_issue(rule: &ElementRule, n: u32, parent: &Located<'_>, items: &[Found<'_>], segs: &Segs<'_>, root_path: &str, reader: &mut Reader) {
    // A rule of a compiled tree has steps.
    let Some(last) = rule.steps.last() else { return };
    if n < rule.min {
        let at = format!("{}.{}", segs.path(parent, root_path), last.key.trim_end_matches("[x]"));
        let msg = if !last.is_slice() {
            format!("{} is required by the profile (min {}), found {n}", rule.id, rule.min)
        } else {
            format!("slice {} is required by the profile (min {}), found {n}", rule.id, rule.min)
        };
        reader.push_issue(issue(IssueKind::Required, at, msg));
    }
    if let Some(max) = rule.max {
        if n > max {
            // A choice is reported where the offending typed member is.
            let at = match (last.key.ends_with("[x]"), items.get(max as usize)) {
                (true, Some(item)) => segs.path(&item.located, root_path),
                _ => format!("{}.{}", segs.path(parent, root_path), last.key.trim_end_matches("[x]")),
            };
            let msg = if max == 0 {
                format!("{} is not allowed by the profile (max 0)", rule.id)
            } else {
                format!("{} allows at most {max}, found {n}", rule.id)
            };
            let kind = if last.is_slice() { IssueKind::Slicing } else { IssueKind::Cardinality };
            reader.push_issue(issue(kind, at, msg));
        }
    }
}

/// Checks an item of `rule` against its fixed or pattern value (`value`, parsed from
/// the rule's) and its required binding; `codings` is scratch space.
fn check_item<'a>(
    rule: &ElementRule,
    check: &ItemCheck,
    item: &Located<'a>,
    segs: &Segs<'_>,
    root_path: &str,
    codings: &mut Vec<(Option<&'a str>, &'a str)>,
    reader: &mut Reader,
) {
    if !has_value(item.node) {
        return;
    }
    let matches = check.value.filter(|_| !skipped('v')).and_then(|(expected, exact)| expected.matches_item(item.node, exact));
    if matches == Some(false) {
        value_issue(rule, item, segs, root_path, reader);
    }
    if let Some((members, kind)) = check.binding.filter(|_| !skipped('k')) {
        codings.clear();
        match kind {
            CodedKind::Scalar => {
                if let Some(c) = item.node.primitive().and_then(crate::must_support::text) {
                    codings.push((None, c));
                }
            }
            CodedKind::Coding => codings.extend(coding(item.node)),
            CodedKind::CodeableConcept => concept_codings(item.node, codings),
            CodedKind::CodeableReference => item.node.visit_child("concept", &mut |c| concept_codings(c.node, codings)),
        }
        if !codings.is_empty() && !codings.iter().any(|(s, c)| members.contains(*s, c)) {
            binding_issue(rule, codings, item, segs, root_path, reader);
        }
    }
}

impl ItemCheck {
    fn of(rule: &ElementRule) -> ItemCheck {
        ItemCheck {
            value: rule.value.map(|(text, exact)| (Expected::of(text), exact)),
            binding: rule.binding.map(|(set, kind)| (crate::terminology::Membership::of(set), kind)),
        }
    }
}

/// Records that `item` does not have `rule`'s fixed or pattern value.
#[cold]
fn value_issue(rule: &ElementRule, item: &Located<'_>, segs: &Segs<'_>, root_path: &str, reader: &mut Reader) {
    let Some((text, exact)) = rule.value else { return };
    let what = if exact { "fixed value" } else { "pattern" };
    let msg = format!("{} must match the profile's {what} {text}, found {}", rule.id, render(item.node));
    reader.push_issue(issue(IssueKind::FixedOrPattern, segs.path(item, root_path), msg));
}

/// Records that none of `codings` (those of `item`) is in `rule`'s required value set.
#[cold]
fn binding_issue(rule: &ElementRule, codings: &[(Option<&str>, &str)], item: &Located<'_>, segs: &Segs<'_>, root_path: &str, reader: &mut Reader) {
    let value_set = rule.binding.map_or("", |(set, _)| set.value_set);
    let found: Vec<String> = codings.iter().map(|(s, c)| format!("{}#{c}", s.unwrap_or(""))).collect();
    let msg = format!("{}: {} is not in the required value set {value_set}", rule.id, found.join(", "));
    reader.push_issue(issue(IssueKind::Binding, segs.path(item, root_path), msg));
}

fn coding(node: Node<'_>) -> Option<(Option<&str>, &str)> {
    if !is_complex(node) {
        return None;
    }
    crate::must_support::coded(node)
}

fn concept_codings<'a>(node: Node<'a>, out: &mut Vec<(Option<&'a str>, &'a str)>) {
    if !is_complex(node) {
        return;
    }
    node.visit_child("coding", &mut |c| {
        if c.index.is_some() {
            out.extend(coding(c.node));
        }
    });
}

/// The invariant's expression, parsed and compiled once per process ([`Compiled`], see
/// [`crate::must_support::cached`]).
fn parsed(expression: &'static str) -> Option<&'static Compiled> {
    use crate::must_support::StaticMap;
    use std::sync::{Mutex, OnceLock};
    thread_local! {
        static LOCAL: std::cell::RefCell<StaticMap<Compiled>> = Default::default();
    }
    static GLOBAL: OnceLock<Mutex<StaticMap<Compiled>>> = OnceLock::new();
    crate::must_support::cached(&LOCAL, &GLOBAL, expression, |text| {
        let e: &'static fhirpath::Expr = Box::leak(Box::new(fhirpath::parse(text).ok()?));
        Some(Compiled::new(e))
    })
}

/// Every invariant of a table compiled ([`parsed`], `None` for one that does not parse),
/// looked up once per table: a document's invariants (or a value's datatype constraints)
/// cost one lookup, not one per invariant. `None` only if the process-wide cache is
/// poisoned (a panic while it was held); [`compiled_at`] then compiles each alone.
fn compiled_all(invariants: &'static [InvariantRule]) -> Option<&'static [Option<&'static Compiled>]> {
    use crate::must_support::StaticMap;
    use std::sync::{Mutex, OnceLock};
    type Table = Box<[Option<&'static Compiled>]>;
    thread_local! {
        static LOCAL: std::cell::RefCell<StaticMap<Table>> = Default::default();
    }
    static GLOBAL: OnceLock<Mutex<StaticMap<Table>>> = OnceLock::new();
    if invariants.is_empty() {
        return Some(&[]);
    }
    let key = (invariants.as_ptr() as usize, invariants.len());
    let table = crate::must_support::cached_at(&LOCAL, &GLOBAL, key, || Some(invariants.iter().map(|i| parsed(i.expression)).collect()));
    table.map(|t| &**t)
}

/// Invariant `i` of a table, compiled: from `table` ([`compiled_all`]) when there is one.
fn compiled_at(table: Option<&'static [Option<&'static Compiled>]>, invariants: &'static [InvariantRule], i: usize) -> Option<&'static Compiled> {
    match table {
        Some(t) => t.get(i).copied().flatten(),
        None => parsed(invariants[i].expression),
    }
}

/// True when two steps select the same nodes (same member, same slice filters).
fn same_step(x: &Step, y: &Step) -> bool {
    std::ptr::eq(x, y)
        || (x.key == y.key
            && x.filter == y.filter
            && x.member_of.len() == y.member_of.len()
            && x.member_of.iter().zip(y.member_of).all(|((p, s), (q, t))| p == q && s.value_set == t.value_set))
}

/// The ids of `checks` with no value in `root`, reported only where their parent is
/// present (see [`crate::must_support::missing`]). Parent walks are shared between
/// consecutive checks with a common prefix ([`descend`]; the checks are made for one
/// call, so compiling them into a [`RuleTree`] would not pay).
pub(crate) fn missing_elements(root: Node<'_>, checks: &[(&'static str, &[Step])]) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut segs = Segs::new();
    let mut levels: Levels<'_, '_> = Vec::new();
    let mut found = Vec::new();
    for (id, steps) in checks {
        let Some((last, parent_steps)) = steps.split_last() else { continue };
        descend(&mut levels, &mut segs, root, parent_steps);
        let root_only = [Located { node: root, at: 0 }];
        let parents = match levels.last() {
            Some((_, found)) if !parent_steps.is_empty() => &found[..],
            _ => &root_only[..],
        };
        if parents.is_empty() {
            continue;
        }
        let present = parents.iter().any(|p| {
            found.clear();
            step_children(&mut segs, *p, last, &mut found);
            !found.is_empty()
        });
        if !present {
            out.push(*id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walked_node_takes_at_most_104_bytes() {
        // Every node of a walk is written to the list once and read by every check:
        // its size is the walk's memory traffic (the list is 128 bytes a node before
        // indexes and nesting were narrowed to `u32`).
        assert!(std::mem::size_of::<Walked<'_>>() <= 104, "{} bytes", std::mem::size_of::<Walked<'_>>());
        let w = Walked::root(Node::json(&crate::json::JsonValue::Null));
        assert_eq!((w.parent(), w.index(), w.depth()), (0, None, 1));
    }

    #[test]
    fn literal_references_name_their_resource_type() {
        assert_eq!(literal_reference_type("Patient/123"), Some("Patient"));
        assert_eq!(literal_reference_type("Patient/123/_history/2"), Some("Patient"));
        assert_eq!(literal_reference_type("https://fhir.medcore.uz/fhir/Practitioner/p-1"), Some("Practitioner"));
        assert_eq!(literal_reference_type("http://x.org/fhir/Observation/1/_history/3"), Some("Observation"));
        assert_eq!(literal_reference_type("Patient/123/_history/2/_history/4"), Some("Patient"));
        assert_eq!(literal_reference_type("x/_history/Patient/1"), None);
        for none in ["urn:uuid:9c1b7c8e-5a5e-4a3b-9d4c-3a2f1c0e4b7d", "#p1", "Patient", "Patient/", "patient/1", "Patient?identifier=x|1", "", "/_history/", "Patient/1/_history/2#x"] {
            assert_eq!(literal_reference_type(none), None, "{none}");
        }
    }

    #[test]
    fn resource_members_are_told_from_elements_of_the_same_name() {
        assert!(is_resource_member("contained", "Patient"));
        assert!(is_resource_member("resource", "Patient"));
        assert!(is_resource_member("outcome", "OperationOutcome"));
        // `CapabilityStatement.rest.resource`, `RelatedArtifact.resource`, `Task.outcome`.
        for (name, ty) in [("resource", "BackboneElement"), ("resource", "canonical"), ("resource", "Reference"), ("resource", ""), ("outcome", "CodeableConcept"), ("entry", "Patient")] {
            assert!(!is_resource_member(name, ty), "{name}: {ty}");
        }
    }

    #[test]
    fn choice_types_outside_the_allowed_ones() {
        let choices: &[(&str, &[&str])] = &[("value", &["Quantity", "CodeableConcept"])];
        assert_eq!(
            choice_type_not_allowed("valueString", choices).as_deref(),
            Some("type String not allowed for value[x]; allowed: Quantity, CodeableConcept")
        );
        assert_eq!(choice_type_not_allowed("valueQuantity", choices), None);
        assert!(choice_type_not_allowed("_valueString", choices).is_some());
        // Not a FHIR type, or another element: left to the unknown-element check.
        assert_eq!(choice_type_not_allowed("valueFoo", choices), None);
        assert_eq!(choice_type_not_allowed("valueSet", choices), None);
        assert_eq!(choice_type_not_allowed("effectiveString", choices), None);
    }
}
