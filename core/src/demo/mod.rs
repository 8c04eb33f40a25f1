//! `asklake demo`: a deterministic generator that writes a realistic small Amazon Security Lake to a folder.
//!
//! All eight source-version-2 tables (OCSF 1.1.0) and the source-version-1 CloudTrail and VPC Flow tables
//! (OCSF 1.0.0-rc.2), with exactly the columns and types of AWS's published schemas, the organisation of
//! [`world`], background activity with daily rhythm and error rates, and planted scenarios whose facts are
//! written to `manifest.json` so tests can assert on them.

pub mod cloudtrail;
pub mod network;
pub mod others;
pub mod rng;
pub mod scenarios;
pub mod world;
mod writer;

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, TimeZone, Timelike, Utc};

use crate::error::{Error, Result};
use crate::lake::{FORMAT, MANIFEST, Manifest};
use crate::schema::SourceVersion;

/// Which source versions to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versions {
    V1,
    V2,
    All,
}

impl Versions {
    pub fn includes(self, v: SourceVersion) -> bool {
        matches!(
            (self, v),
            (Versions::All, _)
                | (Versions::V1, SourceVersion::V1)
                | (Versions::V2, SourceVersion::V2)
        )
    }
}

impl std::str::FromStr for Versions {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "1" => Ok(Versions::V1),
            "2" => Ok(Versions::V2),
            "all" => Ok(Versions::All),
            other => Err(Error::Config(format!(
                "--source-version must be 1, 2 or all, not {other:?}"
            ))),
        }
    }
}

/// How to generate a demo lake.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub dir: PathBuf,
    pub seed: u64,
    pub days: u32,
    /// 1.0 writes about 1.1 million source-version-2 rows; rows grow linearly.
    pub scale: f64,
    /// End of the generated window; default: the current hour.
    pub as_of: Option<DateTime<Utc>>,
    pub versions: Versions,
    pub rollup_region: String,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            dir: crate::lake::default_dir(),
            seed: 42,
            days: 30,
            scale: 1.0,
            as_of: None,
            versions: Versions::All,
            rollup_region: "us-east-1".into(),
        }
    }
}

/// What a generation wrote.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub manifest: Manifest,
    pub rows: u64,
    pub elapsed: std::time::Duration,
}

/// The generated time window, with a daily rhythm: busy office hours, quiet nights.
#[derive(Debug, Clone)]
pub struct Clock {
    pub start_ms: i64,
    pub end_ms: i64,
    pub days: u32,
}

const HOURLY: [u32; 24] = [
    2, 1, 1, 1, 1, 2, 3, 6, 10, 12, 12, 12, 10, 12, 12, 12, 11, 9, 6, 4, 3, 3, 2, 2,
];

impl Clock {
    pub fn new(as_of: DateTime<Utc>, days: u32) -> Clock {
        let end_ms = as_of.timestamp_millis();
        Clock {
            start_ms: end_ms - i64::from(days) * 86_400_000,
            end_ms,
            days,
        }
    }

    /// A random instant in the window, weighted by hour of day (UTC).
    pub fn random_time(&self, rng: &mut rng::Rng) -> i64 {
        let hours: Vec<(u32, u32)> = (0..24).map(|h| (h, HOURLY[h as usize])).collect();
        loop {
            let day_start = (self.start_ms / 86_400_000) * 86_400_000
                + rng.range(0, u64::from(self.days) + 1) as i64 * 86_400_000;
            let h = *rng.weighted(&hours);
            let t = day_start + i64::from(h) * 3_600_000 + rng.range(0, 3_600_000) as i64;
            if t >= self.start_ms && t < self.end_ms {
                return t;
            }
        }
    }

    /// `days_ago` days before the end, at the given UTC hour and minute.
    pub fn at(&self, days_ago: i64, hour: u32, minute: u32) -> i64 {
        let day0 = (self.end_ms / 86_400_000 - days_ago) * 86_400_000;
        let t = day0 + i64::from(hour) * 3_600_000 + i64::from(minute) * 60_000;
        if t >= self.end_ms { t - 86_400_000 } else { t }
    }
}

/// `2026-11-01 12:34:56.789` (UTC), as DuckDB reads a TIMESTAMP.
pub fn fmt_ts(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
        .unwrap_or_default()
}

/// Security Lake v1's `eventday` partition value: `YYYYMMDD`.
pub fn eventday(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y%m%d").to_string())
        .unwrap_or_default()
}

/// Default as-of: the start of the current hour, so two runs within an hour write the same lake.
pub fn default_as_of() -> DateTime<Utc> {
    let now = Utc::now();
    now.with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now)
}

/// Where a new lake is written before it replaces the old one, and where the old one waits to be removed.
const STAGING: &str = ".asklake-staging";
const OLD: &str = ".asklake-old";
/// What a lake folder holds; anything else in it is the user's and is left alone.
const LAKE_PARTS: &[&str] = &["sl1", "sl2", MANIFEST];

/// Checks `dir` may hold a lake (missing, empty, an asklake lake by its manifest's format, or what an
/// interrupted `demo` left), clears leftovers of an interrupted run, and returns a fresh staging folder.
fn prepare_dir(dir: &Path) -> Result<PathBuf> {
    if dir.exists() {
        if !dir.is_dir() {
            return Err(Error::Config(format!(
                "{} exists and is not a folder",
                dir.display()
            )));
        }
        let names: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let leftover = names.iter().any(|n| n == STAGING || n == OLD);
        let only_lake_parts = names
            .iter()
            .all(|n| LAKE_PARTS.contains(&n.as_str()) || n == STAGING || n == OLD);
        if dir.join(MANIFEST).is_file() {
            // A manifest that is not an asklake lake's (another tool's manifest.json) is not ours to replace.
            if let Err(e) = Manifest::read(dir)
                && !leftover
            {
                return Err(Error::Config(format!(
                    "{} holds a manifest.json that is not an asklake lake ({e}); refusing to overwrite it",
                    dir.display()
                )));
            }
        } else if !(names.is_empty() || leftover && only_lake_parts) {
            return Err(Error::Config(format!(
                "{} exists, is not empty and is not an asklake lake; refusing to overwrite it",
                dir.display()
            )));
        }
        for sub in [STAGING, OLD] {
            let p = dir.join(sub);
            if p.exists() {
                std::fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
            }
        }
    } else {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let staging = dir.join(STAGING);
    std::fs::create_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    Ok(staging)
}

/// Replaces the lake in `dir` with the one written in `staging`: the old parts move aside, the new ones in,
/// the manifest last, then the old ones are removed. Interrupted, it leaves a folder `demo` recognizes and
/// finishes cleaning on its next run.
fn swap_in(dir: &Path, staging: &Path) -> Result<()> {
    let old = dir.join(OLD);
    std::fs::create_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    let mv = |from: &Path, to: &Path| std::fs::rename(from, to).map_err(|e| Error::io(from, e));
    for part in [MANIFEST, "sl1", "sl2"] {
        if dir.join(part).exists() {
            mv(&dir.join(part), &old.join(part))?;
        }
    }
    for part in ["sl1", "sl2", MANIFEST] {
        if staging.join(part).exists() {
            mv(&staging.join(part), &dir.join(part))?;
        }
    }
    for p in [&old, &staging.to_path_buf()] {
        std::fs::remove_dir_all(p).map_err(|e| Error::io(p, e))?;
    }
    Ok(())
}

/// Writes a demo lake. Deterministic: the same config (including `as_of`) writes the same rows.
pub fn generate(config: &DemoConfig) -> Result<DemoSummary> {
    if !(config.scale > 0.0 && config.scale.is_finite()) {
        return Err(Error::Config(format!(
            "--scale must be a positive number, not {}",
            config.scale
        )));
    }
    if config.days == 0 || config.days > 3660 {
        return Err(Error::Config(format!(
            "--days must be between 1 and 3660, not {}",
            config.days
        )));
    }
    let started = Instant::now();
    let as_of = config.as_of.unwrap_or_else(default_as_of);
    let staging = prepare_dir(&config.dir)?;
    let clock = Clock::new(as_of, config.days);
    let world = world::World::new(config.seed);
    let mut sinks = writer::Sinks::new(&staging, config.versions)?;

    let n = |base: f64| (base * config.scale).round().max(1.0) as u64;
    let mut rng = rng::Rng::stream(config.seed, "misc");
    cloudtrail::background(config.seed, &world, &clock, n(250_000.0), |ev| {
        sinks.cloudtrail(&ev)
    });
    scenarios::data_events(
        config.seed,
        &world,
        &clock,
        n(40_000.0),
        n(25_000.0),
        |ev| sinks.cloudtrail(&ev),
    );
    network::background_flows(config.seed, &world, &clock, n(600_000.0), |f| {
        sinks.flow(&f)
    });
    network::background_dns(config.seed, &world, &clock, n(120_000.0), |d| sinks.dns(&d));
    others::background_findings(&mut rng, &world.instances, &clock, n(3_000.0), |f| {
        sinks.finding(&f)
    });
    others::background_guardduty(
        config.seed,
        &world.instances,
        &world.buckets,
        &clock,
        n(400.0),
        |f| sinks.finding(&f),
    );
    others::background_eks(&mut rng, &clock, n(30_000.0), |e| sinks.eks(&e));
    others::control_plane_eks(config.seed, &clock, n(20_000.0), |e| sinks.eks(&e));
    others::background_waf(&mut rng, &clock, n(40_000.0), |w| sinks.waf(&w));
    let facts = scenarios::plant(config.seed, &world, &clock, &mut sinks);
    sinks.check()?;

    let tables = sinks.finish()?;
    let rows = tables
        .iter()
        .filter(|t| t.version == SourceVersion::V2)
        .map(|t| t.rows)
        .sum::<u64>();
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: 1,
        as_of: Some(as_of),
        rollup_region: config.rollup_region.clone(),
        tables,
        demo: Some(serde_json::json!({
            "generator": format!("asklake {}", env!("CARGO_PKG_VERSION")),
            "seed": config.seed,
            "days": config.days,
            "scale": config.scale,
            "window_start": DateTime::<Utc>::from_timestamp_millis(clock.start_ms),
            "regions": world::REGIONS.iter().map(|r| r.0).collect::<Vec<_>>(),
            "accounts": world::ACCOUNTS.iter().map(|a| serde_json::json!({"id": a.0, "name": a.1})).collect::<Vec<_>>(),
            "scenarios": facts,
        })),
    };
    manifest.write(&staging)?;
    swap_in(&config.dir, &staging)?;
    Ok(DemoSummary {
        manifest,
        rows,
        elapsed: started.elapsed(),
    })
}

/// Milliseconds to a UTC datetime, for scenario facts.
pub fn ts(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

/// One hour in milliseconds.
pub const HOUR: i64 = 3_600_000;
