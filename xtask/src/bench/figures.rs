//! The run-time figures, each a ratio A/B over interleaved rounds
//! (A B A B …): whatever else the machine does in a round hits both sides.

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;

use super::alloc;
use super::clients::{Caller, HandWritten, MinimalResponse, Sdk};
use super::server::Server;

/// How much of everything to run.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Plan {
    pub warmup_calls: usize,
    pub latency_rounds: usize,
    pub latency_calls_per_round: usize,
    pub throughput_rounds: usize,
    pub throughput_calls_per_round: usize,
    pub in_flight: usize,
    pub decode_rounds: usize,
    pub decodes_per_round: usize,
    pub alloc_rounds: usize,
    pub alloc_calls_per_round: usize,
}

impl Plan {
    pub fn full() -> Plan {
        Plan {
            warmup_calls: 2_000,
            latency_rounds: 20,
            latency_calls_per_round: 500,
            throughput_rounds: 40,
            throughput_calls_per_round: 64 * 16,
            in_flight: 64,
            decode_rounds: 40,
            decodes_per_round: 5_000,
            alloc_rounds: 4,
            alloc_calls_per_round: 200,
        }
    }

    pub fn quick() -> Plan {
        Plan {
            warmup_calls: 300,
            latency_rounds: 10,
            latency_calls_per_round: 200,
            throughput_rounds: 10,
            throughput_calls_per_round: 64 * 8,
            in_flight: 64,
            decode_rounds: 10,
            decodes_per_round: 5_000,
            alloc_rounds: 2,
            alloc_calls_per_round: 50,
        }
    }
}

/// One figure: each side's value over all rounds, and the ratio of each round.
#[derive(Clone, Debug)]
pub struct Pair {
    pub a: f64,
    pub b: f64,
    pub round_ratios: Vec<f64>,
}

impl Pair {
    /// The median of the per-round ratios: robust to a round the machine spoiled.
    pub fn ratio(&self) -> f64 {
        median(&self.round_ratios)
    }

    pub fn spread(&self) -> (f64, f64) {
        spread(&self.round_ratios)
    }
}

pub struct Figures {
    /// Nanoseconds per call.
    pub latency_median: Pair,
    pub latency_p99: Pair,
    /// Calls per second.
    pub throughput: Pair,
    /// The same two against B with a per-request timeout (one timer a call,
    /// like the SDK's attempt timeout): what the SDK adds beyond timeouts.
    pub latency_median_vs_timed: Pair,
    pub throughput_vs_timed: Pair,
    /// Nanoseconds per decode.
    pub decode: Pair,
    pub allocs_per_call: Pair,
    pub alloc_bytes_per_call: Pair,
    pub allocs_per_decode: Pair,
    pub alloc_bytes_per_decode: Pair,
    /// Header differences between the two clients' requests; empty when fair.
    pub header_differences: Vec<String>,
    pub latency_calls_per_side: usize,
}

/// Starts the server, checks both clients agree, then measures.
pub fn measure(plan: &Plan, body: Bytes) -> Result<Figures, String> {
    let server = Server::start(body.clone());
    // One thread for the clients, one for the server: the two cores there are.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let base = format!("http://{}", server.addr);
    let a = Sdk::new(&base);
    let b = HandWritten::new(&base);
    let timed_b = HandWritten::with_timeout(&base, std::time::Duration::from_secs(30));
    runtime.block_on(async {
        let sa = a.call().await.map(|s| Sdk::summarize(&s))?;
        let sb = b.call().await.map(|s| HandWritten::summarize(&s))?;
        if sa != sb {
            return Err(format!(
                "the clients disagree on the body: SDK {sa:?}, hand-written {sb:?}"
            ));
        }
        let header_differences = compare_headers(&server, &a, &b).await?;

        eprintln!("bench: warm-up ({} calls each)", plan.warmup_calls);
        for _ in 0..plan.warmup_calls {
            black_box(a.call().await?);
            black_box(b.call().await?);
            black_box(timed_b.call().await?);
        }

        eprintln!(
            "bench: latency ({} rounds x {} calls each)",
            plan.latency_rounds, plan.latency_calls_per_round
        );
        let (latency_median, latency_p99) = latency(plan, &a, &b).await?;

        eprintln!(
            "bench: throughput ({} rounds x {} calls each, {} in flight)",
            plan.throughput_rounds, plan.throughput_calls_per_round, plan.in_flight
        );
        let throughput = throughput(plan, &a, &b).await?;

        eprintln!("bench: latency and throughput against B with a 30 s timeout");
        let (latency_median_vs_timed, _) = latency(plan, &a, &timed_b).await?;
        let throughput_vs_timed = self::throughput(plan, &a, &timed_b).await?;

        eprintln!(
            "bench: decode ({} rounds x {} decodes each)",
            plan.decode_rounds, plan.decodes_per_round
        );
        let decode = decode(plan, &body)?;

        eprintln!("bench: allocations");
        let (allocs_per_call, alloc_bytes_per_call) = call_allocs(plan, &a, &b).await?;
        let (allocs_per_decode, alloc_bytes_per_decode) = decode_allocs(plan, &body)?;

        Ok(Figures {
            latency_median,
            latency_p99,
            throughput,
            latency_median_vs_timed,
            throughput_vs_timed,
            decode,
            allocs_per_call,
            alloc_bytes_per_call,
            allocs_per_decode,
            alloc_bytes_per_decode,
            header_differences,
            latency_calls_per_side: plan.latency_rounds * plan.latency_calls_per_round,
        })
    })
}

/// `calls` calls with one client against the same server; see
/// `bench::calls_only`.
pub fn calls_only(client: &str, calls: usize, body: Bytes) -> Result<(), String> {
    let server = Server::start(body);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let base = format!("http://{}", server.addr);
    runtime.block_on(async {
        match client {
            "sdk" => repeat(&Sdk::new(&base), calls).await,
            _ => repeat(&HandWritten::new(&base), calls).await,
        }
    })
}

async fn repeat<C: Caller>(client: &C, calls: usize) -> Result<(), String> {
    for _ in 0..calls {
        black_box(client.call().await?);
    }
    Ok(())
}

/// The same headers on both sides, up to the request id's value.
async fn compare_headers(server: &Server, a: &Sdk, b: &HandWritten) -> Result<Vec<String>, String> {
    server.capture_next();
    a.call().await?;
    let ha = normalize(server.captured());
    server.capture_next();
    b.call().await?;
    let hb = normalize(server.captured());
    let mut differences = Vec::new();
    for (name, value) in &ha {
        if !hb.contains(&(name.clone(), value.clone())) {
            differences.push(format!("only the SDK sends {name}: {value}"));
        }
    }
    for (name, value) in &hb {
        if !ha.contains(&(name.clone(), value.clone())) {
            differences.push(format!(
                "only the hand-written client sends {name}: {value}"
            ));
        }
    }
    Ok(differences)
}

fn normalize(headers: Option<Vec<(String, String)>>) -> Vec<(String, String)> {
    let mut headers = headers.unwrap_or_default();
    for (name, value) in &mut headers {
        if name == "x-client-request-id" && uuid::Uuid::parse_str(value).is_ok() {
            *value = "<uuid>".into();
        }
    }
    headers
}

async fn latency<B: Caller>(plan: &Plan, a: &Sdk, b: &B) -> Result<(Pair, Pair), String> {
    let n = plan.latency_calls_per_round;
    let (mut all_a, mut all_b) = (Vec::new(), Vec::new());
    let (mut median_ratios, mut p99_ratios) = (Vec::new(), Vec::new());
    for _ in 0..plan.latency_rounds {
        let (mut ra, mut rb) = (Vec::with_capacity(n), Vec::with_capacity(n));
        // Interleaved call by call, and in both orders, so that a burst of
        // load from elsewhere lands on both sides alike.
        for i in 0..n {
            if i % 2 == 0 {
                ra.push(timed(a).await?);
                rb.push(timed(b).await?);
            } else {
                rb.push(timed(b).await?);
                ra.push(timed(a).await?);
            }
        }
        ra.sort_unstable();
        rb.sort_unstable();
        median_ratios.push(percentile(&ra, 0.5) / percentile(&rb, 0.5));
        p99_ratios.push(percentile(&ra, 0.99) / percentile(&rb, 0.99));
        all_a.extend(ra);
        all_b.extend(rb);
    }
    all_a.sort_unstable();
    all_b.sort_unstable();
    Ok((
        Pair {
            a: percentile(&all_a, 0.5),
            b: percentile(&all_b, 0.5),
            round_ratios: median_ratios,
        },
        Pair {
            a: percentile(&all_a, 0.99),
            b: percentile(&all_b, 0.99),
            round_ratios: p99_ratios,
        },
    ))
}

/// Nanoseconds of one call.
async fn timed<C: Caller>(client: &C) -> Result<u64, String> {
    let started = Instant::now();
    black_box(client.call().await?);
    Ok(started.elapsed().as_nanos() as u64)
}

async fn throughput<B: Caller>(plan: &Plan, a: &Sdk, b: &B) -> Result<Pair, String> {
    let (calls, width) = (plan.throughput_calls_per_round, plan.in_flight);
    // Opens the pool's connections, which the sequential phase never needed.
    in_flight(a, calls, width).await?;
    in_flight(b, calls, width).await?;
    let (mut secs_a, mut secs_b, mut ratios) = (0.0, 0.0, Vec::new());
    for round in 0..plan.throughput_rounds {
        // Both orders, so that a drift in machine load cancels out.
        let (ta, tb) = if round % 2 == 0 {
            let ta = in_flight(a, calls, width).await?;
            (ta, in_flight(b, calls, width).await?)
        } else {
            let tb = in_flight(b, calls, width).await?;
            (in_flight(a, calls, width).await?, tb)
        };
        secs_a += ta;
        secs_b += tb;
        // Throughput is calls over time: A/B is B's time over A's.
        ratios.push(tb / ta);
    }
    let total = (plan.throughput_rounds * calls) as f64;
    Ok(Pair {
        a: total / secs_a,
        b: total / secs_b,
        round_ratios: ratios,
    })
}

/// Seconds taken by `calls` calls made by `width` tasks at once.
async fn in_flight<C: Caller>(client: &C, calls: usize, width: usize) -> Result<f64, String> {
    let per_task = calls / width;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..width {
        let client = client.clone();
        tasks.spawn(async move {
            for _ in 0..per_task {
                black_box(client.call().await?);
            }
            Ok::<(), String>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|e| format!("a client task failed: {e}"))??;
    }
    Ok(started.elapsed().as_secs_f64())
}

fn decode(plan: &Plan, body: &[u8]) -> Result<Pair, String> {
    let n = plan.decodes_per_round;
    for _ in 0..n {
        decode_one::<yc_idp::types::GetSessionResponse>(body)?;
        decode_one::<MinimalResponse>(body)?;
    }
    let (mut ns_a, mut ns_b, mut ratios) = (0.0, 0.0, Vec::new());
    for round in 0..plan.decode_rounds {
        let (ta, tb) = if round % 2 == 0 {
            let ta = decode_batch::<yc_idp::types::GetSessionResponse>(body, n)?;
            (ta, decode_batch::<MinimalResponse>(body, n)?)
        } else {
            let tb = decode_batch::<MinimalResponse>(body, n)?;
            (
                decode_batch::<yc_idp::types::GetSessionResponse>(body, n)?,
                tb,
            )
        };
        ns_a += ta;
        ns_b += tb;
        ratios.push(ta / tb);
    }
    let rounds = plan.decode_rounds as f64;
    Ok(Pair {
        a: ns_a / rounds,
        b: ns_b / rounds,
        round_ratios: ratios,
    })
}

/// Mean nanoseconds per decode over `n` decodes.
fn decode_batch<T: DeserializeOwned>(body: &[u8], n: usize) -> Result<f64, String> {
    let started = Instant::now();
    for _ in 0..n {
        decode_one::<T>(body)?;
    }
    Ok(started.elapsed().as_nanos() as f64 / n as f64)
}

fn decode_one<T: DeserializeOwned>(body: &[u8]) -> Result<(), String> {
    let value: T = serde_json::from_slice(black_box(body)).map_err(|e| format!("decode: {e}"))?;
    black_box(value);
    Ok(())
}

/// Allocations per call, counted on this (the clients') thread only.
async fn call_allocs(plan: &Plan, a: &Sdk, b: &HandWritten) -> Result<(Pair, Pair), String> {
    let n = plan.alloc_calls_per_round;
    let mut counts = AllocRounds::default();
    for _ in 0..plan.alloc_rounds {
        let before = alloc::current();
        for _ in 0..n {
            black_box(a.call().await?);
        }
        let ca = alloc::current().since(before);
        let before = alloc::current();
        for _ in 0..n {
            black_box(b.call().await?);
        }
        let cb = alloc::current().since(before);
        counts.push(ca, cb, n);
    }
    Ok(counts.finish())
}

fn decode_allocs(plan: &Plan, body: &[u8]) -> Result<(Pair, Pair), String> {
    let n = plan.alloc_calls_per_round;
    let mut counts = AllocRounds::default();
    for _ in 0..plan.alloc_rounds {
        let before = alloc::current();
        for _ in 0..n {
            decode_one::<yc_idp::types::GetSessionResponse>(body)?;
        }
        let ca = alloc::current().since(before);
        let before = alloc::current();
        for _ in 0..n {
            decode_one::<MinimalResponse>(body)?;
        }
        let cb = alloc::current().since(before);
        counts.push(ca, cb, n);
    }
    Ok(counts.finish())
}

#[derive(Default)]
struct AllocRounds {
    a: Vec<alloc::Count>,
    b: Vec<alloc::Count>,
    n: usize,
}

impl AllocRounds {
    fn push(&mut self, a: alloc::Count, b: alloc::Count, n: usize) {
        self.a.push(a);
        self.b.push(b);
        self.n = n;
    }

    /// (allocations, bytes), each per operation.
    fn finish(self) -> (Pair, Pair) {
        let per = |c: &alloc::Count| {
            (
                c.allocs as f64 / self.n as f64,
                c.bytes as f64 / self.n as f64,
            )
        };
        let a: Vec<_> = self.a.iter().map(per).collect();
        let b: Vec<_> = self.b.iter().map(per).collect();
        let pair = |pick: fn(&(f64, f64)) -> f64| {
            let mean = |v: &[(f64, f64)]| v.iter().map(pick).sum::<f64>() / v.len() as f64;
            Pair {
                a: mean(&a),
                b: mean(&b),
                round_ratios: a.iter().zip(&b).map(|(x, y)| pick(x) / pick(y)).collect(),
            }
        };
        (pair(|c| c.0), pair(|c| c.1))
    }
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64
}

/// The lowest and highest of `values`.
pub fn spread(values: &[f64]) -> (f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(0.0, f64::max);
    (min, max)
}

pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[7], 0.99), 7.0);
        assert!(percentile(&[], 0.5).is_nan());
    }

    #[test]
    fn median_of_ratios() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
