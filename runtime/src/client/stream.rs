//! Search results across pages, as `futures_core::Stream`s: [`SearchPages`] (page by
//! page) and [`SearchStream`] (resource by resource). Both also have an inherent async
//! `next`, so no stream library is needed to use them.

use super::bundle::SearchPage;
use super::error::{url_without_query, Error};
use super::rest::FhirClient;
use super::search::SearchParams;
use crate::resource::Resource;
use futures_core::Stream;
use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

type PageFuture<T> = Pin<Box<dyn Future<Output = Result<SearchPage<T>, Error>> + Send>>;

enum State<T> {
    /// The first page is still to be requested.
    Start(SearchParams),
    /// A `next` link to follow.
    Next(String),
    Fetching(PageFuture<T>),
    Done,
}

/// The pages of a search, following `next` links until the last page. An error ends the
/// stream after it is yielded.
///
/// A `next` link to a page already fetched (the first request, or an earlier `next`
/// link) ends it with [`Error::PagingLoop`] instead of looping forever; with a page limit
/// ([`max_pages`](Self::max_pages)), a search with more pages ends with
/// [`Error::PageLimitReached`] after the last allowed page.
pub struct SearchPages<T> {
    client: FhirClient,
    state: State<T>,
    /// Every URL fetched so far (resolved, so differently written links compare equal).
    seen: HashSet<String>,
    fetched: u32,
    max_pages: Option<u32>,
    _type: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for SearchPages<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Start(_) => "start",
            State::Next(_) => "next",
            State::Fetching(_) => "fetching",
            State::Done => "done",
        };
        f.debug_struct("SearchPages")
            .field("state", &state)
            .field("fetched", &self.fetched)
            .field("max_pages", &self.max_pages)
            .finish()
    }
}

impl<T: Resource + Send + 'static> SearchPages<T> {
    pub(crate) fn new(client: FhirClient, params: SearchParams, max_pages: Option<u32>) -> Self {
        SearchPages {
            client,
            state: State::Start(params),
            seen: HashSet::new(),
            fetched: 0,
            max_pages,
            _type: PhantomData,
        }
    }

    /// Fetches at most `pages` pages (`None`: no limit; the default is the client's
    /// [`max_search_pages`](super::FhirClientBuilder::max_search_pages)). When the last
    /// allowed page still has a `next` link, the stream ends with
    /// [`Error::PageLimitReached`].
    pub fn max_pages(mut self, pages: Option<u32>) -> Self {
        self.max_pages = pages;
        self
    }

    /// Starts fetching `url` unless it was fetched before or the page limit is reached.
    fn fetch(&mut self, url: url::Url, first: Option<SearchParams>) -> Result<(), Error> {
        if let Some(limit) = self.max_pages {
            if self.fetched >= limit {
                return Err(Error::PageLimitReached { limit });
            }
        }
        if !self.seen.insert(url.to_string()) {
            return Err(Error::PagingLoop { url: url_without_query(&url) });
        }
        self.fetched = self.fetched.saturating_add(1);
        let client = self.client.clone();
        self.state = State::Fetching(match first {
            Some(params) => Box::pin(async move { client.search::<T>(&params).await }),
            None => Box::pin(async move {
                let bundle = client.follow_url(url, T::RESOURCE_TYPE).await?;
                Ok(SearchPage::from_bundle(bundle, client.read_mode()))
            }),
        });
        Ok(())
    }

    /// The next page, or `None` after the last one.
    pub async fn next(&mut self) -> Option<Result<SearchPage<T>, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl<T: Resource + Send + 'static> Stream for SearchPages<T> {
    type Item = Result<SearchPage<T>, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.state, State::Done) {
                State::Done => return Poll::Ready(None),
                State::Start(params) => {
                    let started = this.client.search_url::<T>(&params).and_then(|url| this.fetch(url, Some(params)));
                    if let Err(e) = started {
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                State::Next(link) => {
                    let started = this.client.resolve_link(&link).and_then(|url| this.fetch(url, None));
                    if let Err(e) = started {
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                State::Fetching(mut fut) => match fut.as_mut().poll(cx) {
                    Poll::Pending => {
                        this.state = State::Fetching(fut);
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok(page)) => {
                        if let Some(next) = page.next_link() {
                            this.state = State::Next(next.to_string());
                        }
                        return Poll::Ready(Some(Ok(page)));
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                },
            }
        }
    }
}

/// The matching resources of a search, across pages. A match that does not conform is an
/// `Err(Error::InvalidResource)` item (with its JSON) and the stream continues; an error
/// fetching a page ends it.
pub struct SearchStream<T> {
    pages: SearchPages<T>,
    buffer: VecDeque<Result<T, Error>>,
}

impl<T> std::fmt::Debug for SearchStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchStream").field("pages", &self.pages).field("buffered", &self.buffer.len()).finish()
    }
}

impl<T: Resource + Send + 'static> SearchStream<T> {
    pub(crate) fn new(pages: SearchPages<T>) -> Self {
        SearchStream { pages, buffer: VecDeque::new() }
    }

    /// Fetches at most `pages` pages (see [`SearchPages::max_pages`]).
    pub fn max_pages(mut self, pages: Option<u32>) -> Self {
        self.pages = self.pages.max_pages(pages);
        self
    }

    /// The next resource, or `None` at the end.
    pub async fn next(&mut self) -> Option<Result<T, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Collects every result (stops at the first error).
    pub async fn try_collect(mut self) -> Result<Vec<T>, Error> {
        let mut out = Vec::new();
        while let Some(item) = self.next().await {
            out.push(item?);
        }
        Ok(out)
    }
}

impl<T> Unpin for SearchStream<T> {}

impl<T: Resource + Send + 'static> Stream for SearchStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.buffer.pop_front() {
                return Poll::Ready(Some(item));
            }
            match Pin::new(&mut this.pages).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(page))) => {
                    let (matches, invalid, _) = page.into_parts();
                    this.buffer.extend(matches.into_iter().map(Ok));
                    this.buffer.extend(invalid.into_iter().map(|i| Err(Error::InvalidResource(Box::new(i)))));
                }
            }
        }
    }
}
