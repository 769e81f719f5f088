//! Search results across pages, as `futures_core::Stream`s: [`SearchPages`] (page by
//! page) and [`SearchStream`] (resource by resource). Both also have an inherent async
//! `next`, so no stream library is needed to use them.

use super::bundle::SearchPage;
use super::error::Error;
use super::rest::FhirClient;
use super::search::SearchParams;
use crate::resource::Resource;
use futures_core::Stream;
use std::collections::VecDeque;
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
pub struct SearchPages<T> {
    client: FhirClient,
    state: State<T>,
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
        f.debug_struct("SearchPages").field("state", &state).finish()
    }
}

impl<T: Resource + Send + 'static> SearchPages<T> {
    pub(crate) fn new(client: FhirClient, params: SearchParams) -> Self {
        SearchPages { client, state: State::Start(params), _type: PhantomData }
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
                    let client = this.client.clone();
                    this.state = State::Fetching(Box::pin(async move { client.search::<T>(&params).await }));
                }
                State::Next(link) => {
                    let client = this.client.clone();
                    this.state = State::Fetching(Box::pin(async move {
                        let bundle = client.follow(&link, T::RESOURCE_TYPE).await?;
                        Ok(SearchPage::from_bundle(bundle, client.read_mode()))
                    }));
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
