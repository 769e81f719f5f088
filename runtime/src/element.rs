//! Element wrappers shared by every generated type.
//!
//! - [`PrimitiveElement`]: a FHIR primitive element, i.e. an optional value plus the
//!   element's `id` and `extension`s. In JSON the value is the `name` member and the
//!   `id`/extensions are the `_name` sibling; an element may carry only extensions
//!   (a Data Absent Reason on a required primitive, for example).
//! - [`NonEmpty`]: a collection with at least one item, used for `1..*` elements so that
//!   "required" is a property of the type, not a run-time check.
//! - [`SubExtensionExtra`]: what one sub-extension item of a typed complex extension holds
//!   besides its `url` and value (its `id`, members its definition does not have).

use crate::JsonObject;
use std::fmt;
use std::ops::Deref;

/// A FHIR primitive element: value, `id` and extensions.
///
/// `E` is the extension type (the generated crate fixes it to its `Extension` through the
/// `Primitive<T>` alias). Build one from a value with [`PrimitiveElement::new`] or `From`:
///
/// ```
/// use dhp_runtime::{primitives::FhirString, PrimitiveElement};
/// let family: PrimitiveElement<FhirString, ()> = "Karimov".into();
/// assert_eq!(family.value().map(|v| v.as_str()), Some("Karimov"));
/// assert!(family.extension().is_empty());
/// ```
///
/// Only the value is stored in place. What an element seldom has, its `id`, its
/// extensions and the unknown members of its `_name` object, is kept behind one pointer
/// ([`PrimitiveExtras`]), so an element costs the value's size and a word: a struct
/// with many primitive elements, most of them absent, stays small.
#[derive(Clone)]
pub struct PrimitiveElement<T, E> {
    /// The value; `None` when only `id`/extensions are present (e.g. a data-absent reason).
    pub value: Option<T>,
    /// The `id`, extensions and unknown `_name` members, when the element has any (an
    /// empty box may be left by [`extension_mut`](Self::extension_mut): every test
    /// below treats it as none).
    extras: Option<Box<PrimitiveExtras<E>>>,
}

/// The `id`, the extensions and the unknown `_name` members of a [`PrimitiveElement`].
#[derive(Clone, Debug, PartialEq)]
pub struct PrimitiveExtras<E> {
    /// The element's `id` (written as `_name.id`).
    pub id: Option<String>,
    /// Extensions on the element (written as `_name.extension`).
    pub extension: Vec<E>,
    /// Members of the `_name` object FHIR does not define, kept by a lenient read and
    /// written back unchanged (always empty after a strict read).
    pub unknown_elements: JsonObject,
}

impl<E> Default for PrimitiveExtras<E> {
    fn default() -> Self {
        PrimitiveExtras { id: None, extension: Vec::new(), unknown_elements: JsonObject::new() }
    }
}

impl<E> PrimitiveExtras<E> {
    /// True when there is no `id`, no extension and no unknown member.
    pub fn is_empty(&self) -> bool {
        self.id.is_none() && self.extension.is_empty() && self.unknown_elements.is_empty()
    }
}

impl<T, E> PrimitiveElement<T, E> {
    /// An element holding `value`, with no `id` and no extensions.
    pub fn new(value: T) -> Self {
        PrimitiveElement { value: Some(value), extras: None }
    }

    /// An element with no value that carries only `extension` (FHIR allows a primitive
    /// element to be present through its extensions alone).
    pub fn from_extension(extension: E) -> Self {
        PrimitiveElement { value: None, extras: Some(Box::new(PrimitiveExtras { extension: vec![extension], ..PrimitiveExtras::default() })) }
    }

    /// An element with no value, `id` or extensions yet.
    pub fn empty() -> Self {
        PrimitiveElement { value: None, extras: None }
    }

    /// The value, if present.
    pub fn value(&self) -> Option<&T> {
        self.value.as_ref()
    }

    /// The element's extensions (written as `_name.extension`).
    ///
    /// ```
    /// use dhp_runtime::{primitives::FhirString, PrimitiveElement};
    /// let mut city: PrimitiveElement<FhirString, &str> = "Toshkent".into();
    /// assert!(city.extension().is_empty());
    /// city.extension_mut().push("an extension");
    /// assert_eq!(city.extension(), ["an extension"]);
    /// city.set_extension(Vec::new());
    /// assert_eq!(city, PrimitiveElement::from("Toshkent"), "no extensions: as before");
    /// ```
    pub fn extension(&self) -> &[E] {
        self.extras.as_deref().map_or(&[], |x| &x.extension)
    }

    /// The element's extensions, to change them.
    pub fn extension_mut(&mut self) -> &mut Vec<E> {
        &mut self.extras.get_or_insert_with(Box::default).extension
    }

    /// Replaces the element's extensions.
    pub fn set_extension(&mut self, extension: Vec<E>) {
        if extension.is_empty() && self.extras.is_none() {
            return;
        }
        self.extras.get_or_insert_with(Box::default).extension = extension;
        self.drop_empty_extras();
    }

    /// The element's `id`, if it has one.
    ///
    /// ```
    /// use dhp_runtime::{primitives::FhirString, PrimitiveElement};
    /// let mut gender: PrimitiveElement<FhirString, ()> = "female".into();
    /// assert_eq!(gender.id(), None);
    /// gender.set_id(Some("g1".into()));
    /// assert_eq!(gender.id(), Some("g1"));
    /// ```
    pub fn id(&self) -> Option<&str> {
        self.extras.as_ref().and_then(|x| x.id.as_deref())
    }

    /// Sets (or, with `None`, removes) the element's `id`.
    pub fn set_id(&mut self, id: Option<String>) {
        if id.is_none() && self.extras.is_none() {
            return;
        }
        self.extras.get_or_insert_with(Box::default).id = id;
        self.drop_empty_extras();
    }

    /// The members of the element's `_name` object that FHIR does not define (kept by a
    /// lenient read); `None` when there are none.
    pub fn unknown_elements(&self) -> Option<&JsonObject> {
        self.extras.as_ref().map(|x| &x.unknown_elements).filter(|u| !u.is_empty())
    }

    /// The `id`, extensions and unknown members together, when the element has any.
    pub fn extras(&self) -> Option<&PrimitiveExtras<E>> {
        self.extras.as_deref().filter(|x| !x.is_empty())
    }

    /// Replaces the `id`, extensions and unknown members together (what a reader found in
    /// the `_name` object).
    pub fn set_extras(&mut self, extras: Option<Box<PrimitiveExtras<E>>>) {
        self.extras = extras.filter(|x| !x.is_empty());
    }

    fn drop_empty_extras(&mut self) {
        if self.extras.as_ref().is_some_and(|x| x.is_empty()) {
            self.extras = None;
        }
    }

    /// Adds an extension and returns the element (builder style).
    pub fn with_extension(mut self, extension: E) -> Self {
        self.extension_mut().push(extension);
        self
    }

    /// The same element with its value mapped by `f` (its `id`, extensions and unknown
    /// members unchanged): how a value is carried over to another primitive type.
    pub fn with_value<U>(self, f: impl FnOnce(Option<T>) -> Option<U>) -> PrimitiveElement<U, E> {
        PrimitiveElement { value: f(self.value), extras: self.extras }
    }

    /// True when the element has no value, no `id`, no extensions and no unknown
    /// members, which FHIR does not allow to be written.
    pub fn is_empty(&self) -> bool {
        self.value.is_none() && !self.has_element_object()
    }

    /// True when something is written in the `_name` object: an `id`, extensions or
    /// unknown members.
    pub fn has_element_object(&self) -> bool {
        self.extras.as_ref().is_some_and(|x| !x.is_empty())
    }
}

/// The value and what [`PrimitiveElement::extras`] gives (an empty box left by
/// [`PrimitiveElement::extension_mut`] is no difference).
impl<T: PartialEq, E: PartialEq> PartialEq for PrimitiveElement<T, E> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value && self.extras() == other.extras()
    }
}

impl<T: fmt::Debug, E: fmt::Debug> fmt::Debug for PrimitiveElement<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PrimitiveElement");
        d.field("value", &self.value);
        if let Some(x) = self.extras() {
            d.field("id", &x.id).field("extension", &x.extension);
            if !x.unknown_elements.is_empty() {
                d.field("unknown_elements", &x.unknown_elements);
            }
        }
        d.finish()
    }
}

impl<T, E> From<T> for PrimitiveElement<T, E> {
    fn from(value: T) -> Self {
        PrimitiveElement::new(value)
    }
}

impl<E> From<&str> for PrimitiveElement<crate::primitives::FhirString, E> {
    fn from(value: &str) -> Self {
        PrimitiveElement::new(value.into())
    }
}

impl<E> From<String> for PrimitiveElement<crate::primitives::FhirString, E> {
    fn from(value: String) -> Self {
        PrimitiveElement::new(value.into())
    }
}

/// A collection with at least one item: the type of every `1..*` element.
///
/// There is no way to build an empty one, so a missing required repeating element is a
/// compile error rather than a run-time surprise.
///
/// ```
/// use dhp_runtime::NonEmpty;
/// let mut ids = NonEmpty::new("a");
/// ids.push("b");
/// assert_eq!(ids.len(), 2);
/// assert_eq!(ids.first(), &"a");
/// assert!(NonEmpty::<u8>::from_vec(Vec::new()).is_none());
/// ```
#[derive(Clone, PartialEq)]
pub struct NonEmpty<T>(Vec<T>);

impl<T> NonEmpty<T> {
    /// A collection holding just `first`.
    pub fn new(first: T) -> Self {
        NonEmpty(vec![first])
    }

    /// `None` when `items` is empty.
    pub fn from_vec(items: Vec<T>) -> Option<Self> {
        if items.is_empty() {
            None
        } else {
            Some(NonEmpty(items))
        }
    }

    /// Appends an item.
    pub fn push(&mut self, item: T) {
        self.0.push(item);
    }

    /// The first item (there always is one).
    pub fn first(&self) -> &T {
        &self.0[0]
    }

    /// Mutable access to the items; the length cannot change through it.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.0
    }

    /// The items as a `Vec`.
    pub fn into_vec(self) -> Vec<T> {
        self.0
    }

    /// Applies `f` to every item (the result is non-empty too).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> NonEmpty<U> {
        NonEmpty(self.0.into_iter().map(f).collect())
    }
}

impl<T> Deref for NonEmpty<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for NonEmpty<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

/// One item is a non-empty collection: `NonEmpty::from(id)` or `id.into()` where a `1..*`
/// element is expected.
///
/// ```
/// use dhp_runtime::NonEmpty;
/// let one: NonEmpty<&str> = "a".into();
/// assert_eq!(one.len(), 1);
/// ```
impl<T> From<T> for NonEmpty<T> {
    fn from(first: T) -> Self {
        NonEmpty::new(first)
    }
}

/// A `Vec` is a non-empty collection unless it is empty; the error gives the (empty) `Vec`
/// back.
///
/// ```
/// use dhp_runtime::NonEmpty;
/// assert_eq!(NonEmpty::<i32>::try_from(vec![1, 2]).map(|n| n.len()), Ok(2));
/// assert!(NonEmpty::<u8>::try_from(Vec::new()).is_err());
/// ```
impl<T> TryFrom<Vec<T>> for NonEmpty<T> {
    type Error = Vec<T>;
    fn try_from(items: Vec<T>) -> Result<Self, Vec<T>> {
        if items.is_empty() {
            Err(items)
        } else {
            Ok(NonEmpty(items))
        }
    }
}

impl<T> From<NonEmpty<T>> for Vec<T> {
    fn from(items: NonEmpty<T>) -> Vec<T> {
        items.0
    }
}

impl<'a, T> IntoIterator for &'a NonEmpty<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T> IntoIterator for NonEmpty<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<T> Extend<T> for NonEmpty<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

/// What one sub-extension item of a typed complex extension holds besides its `url` and
/// value: the item's own `id` and the members its definition does not have.
///
/// A typed complex extension keeps each sub-extension's value as a plain field
/// (`code: Option<CodeableConcept>`) and these rarely present parts in one list beside
/// them (`sub_extension_extras`), so that a read writes back unchanged. An entry belongs
/// to the item at position `index` of the field for sub-extension `url`; the writer puts
/// its `id` and members back into that item.
///
/// ```
/// use dhp_runtime::SubExtensionExtra;
/// let extras = [SubExtensionExtra { url: "code".into(), index: 0, id: Some("c1".into()), ..Default::default() }];
/// assert_eq!(SubExtensionExtra::find(&extras, "code", 0).and_then(|e| e.id.as_deref()), Some("c1"));
/// assert!(SubExtensionExtra::find(&extras, "period", 0).is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubExtensionExtra {
    /// The sub-extension's `url` (relative, as its definition fixes it: `code`).
    pub url: String,
    /// The item's position among the values of that sub-extension, from 0.
    pub index: usize,
    /// The sub-extension's `id`.
    pub id: Option<String>,
    /// Members the sub-extension's definition does not have, kept by a read (a lenient
    /// one warns, a strict one reports errors) and written back unchanged.
    pub unknown_elements: JsonObject,
}

impl SubExtensionExtra {
    /// The entry for item `index` of sub-extension `url`, if any.
    pub fn find<'a>(extras: &'a [SubExtensionExtra], url: &str, index: usize) -> Option<&'a SubExtensionExtra> {
        extras.iter().find(|e| e.index == index && e.url == url)
    }

    /// True when the entry holds nothing to write.
    pub fn is_empty(&self) -> bool {
        self.id.is_none() && self.unknown_elements.is_empty()
    }
}
