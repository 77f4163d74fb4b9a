//! `serve --store`: the page fed from a store instead of a run (SPEC 9.1): the bars, metric
//! bars, footprints, prints and signals of one instrument and window, read again every second
//! so that a run writing the store meanwhile shows up.

use std::path::PathBuf;
use std::time::Duration;

use crate::engine::{FootprintBar, FootprintRow, Millis, Print, PrintChanges};
use crate::output::live::{LiveFeed, Phase, Status, Update};
use crate::store::records::Series;
use crate::store::repository::{Store, StoreError};

/// How often the store is read again.
pub const POLL_EVERY: Duration = Duration::from_secs(1);

/// One series of a store, shown through a [`LiveFeed`].
pub struct StoreFeed {
    path: PathBuf,
    series: Series,
    feed: LiveFeed,
    /// The newest bar window read: it is read again (it may still grow), with all after it.
    newest: Millis,
    /// Prints read before `newest`, the number of the first print read again.
    prints_before: u64,
}

impl StoreFeed {
    /// A feed of `series` of the store at `path` (opened read-only on each read).
    pub fn new(path: PathBuf, series: Series, feed: LiveFeed) -> StoreFeed {
        StoreFeed {
            path,
            series,
            feed,
            newest: Millis::MIN,
            prints_before: 0,
        }
    }

    /// Reads what is new in the store into the feed.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn refresh(&mut self) -> Result<(), StoreError> {
        let store = Store::open_read(&self.path)?;
        let (series, from) = (&self.series, self.newest);
        let bars: Vec<_> = store.bars(series, from, Millis::MAX)?;
        let metric_bars = store.metric_bars(series, from, Millis::MAX)?;
        let mut footprints: Vec<FootprintBar> = bars
            .iter()
            .map(|record| FootprintBar {
                ts: record.bar.ts,
                buy_volume: record.buy_volume,
                sell_volume: record.sell_volume,
                trades: record.trades,
                rows: Default::default(),
            })
            .collect();
        for row in store.footprint(series, from, Millis::MAX)? {
            if let Ok(index) = footprints.binary_search_by_key(&row.ts, |bar| bar.ts) {
                triomphe::Arc::make_mut(&mut footprints[index].rows).push(FootprintRow {
                    price: row.price,
                    buy: row.buy,
                    sell: row.sell,
                });
            }
        }
        let prints: Vec<Print> = store
            .prints(series, from, Millis::MAX)?
            .into_iter()
            .map(|print| Print {
                ts: print.ts,
                side: print.side,
                vwap: print.vwap,
                size: print.size,
                trades: u32::try_from(print.trades).unwrap_or(u32::MAX),
            })
            .collect();
        let signals = store.signals(series, Millis::MIN, Millis::MAX)?;
        let newest = bars
            .last()
            .map(|bar| bar.bar.ts)
            .into_iter()
            .chain(metric_bars.last().map(|bar| bar.ts))
            .max();
        let first_print = self.prints_before;
        if let Some(newest) = newest {
            let older = prints.iter().filter(|print| print.ts < newest).count() as u64;
            self.prints_before += older;
            self.newest = newest;
        }
        let status = Status {
            instrument: series.instrument.clone(),
            phase: Phase::Done,
            message: format!("showing the store {}", self.path.display()),
            progress: 1.0,
            ..self.feed.status()
        };
        self.feed.publish(Update {
            bars: bars.iter().map(|record| record.bar).collect(),
            metric_bars,
            footprints,
            prints: PrintChanges {
                first: first_print,
                prints: prints.into(),
            },
            depth: Default::default(),
            status,
        });
        self.feed.signals().replace(signals);
        Ok(())
    }
}

/// Reads the store into the feed every `every`, forever (abort the task to stop).
pub async fn watch(mut feed: StoreFeed, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let result = tokio::task::spawn_blocking(move || {
            let result = feed.refresh();
            (feed, result)
        })
        .await;
        match result {
            Ok((back, Ok(()))) => feed = back,
            Ok((back, Err(error))) => {
                tracing::warn!("reading the store again: {error}");
                feed = back;
            }
            Err(_) => return,
        }
    }
}
