//! The network-impairment matrix as a report (issue 7, part 1).
//!
//! ```text
//! cargo run --release --example impairment_matrix -- [--trials 200] [--seed 1] [--filter TEXT]...
//!     [--show failures] [--trace SEED] [--timers INITIAL_RTO,MAX_RTO,DEADLINE]
//! ```
//!
//! Every cell of `impair::full_matrix()` (profile x loss 0/10/30/50 % x MTU 200/576/1500 x
//! cookie off / front door x server-only / mutual authentication, RFC 6347 default timers) runs
//! `--trials` seeded handshakes on a virtual clock; the table gives the success rate, the
//! timeouts, the median, p99 and worst handshake time in virtual milliseconds, the ideal (the
//! lossless time: one-way trips x latency), p99 above the ideal in initial RTOs, retransmissions
//! per trial, the share of application records delivered, and any other failure kinds. A cell
//! is listed when its label contains every `--filter` text (e.g. `--filter "loss 30%"`).
//! `--show failures` lists every trial that did not complete; `--trace SEED` prints the
//! timeline of that one trial in each selected cell instead of the table. `--timers` replaces
//! the default (RFC 6347 §4.2.4.1) timers, in milliseconds.
//!
//! The asserting tests over a subset of the cells are in `tests/impairment.rs`. The simulation
//! is single-threaded on purpose; it shares the machine with other work.

#[path = "../tests/common/impair.rs"]
mod impair;

use impair::{format_row, full_matrix, run_cell, table_header, trace_trial, Kind, Timers};
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

fn usage() -> ExitCode {
    eprintln!(
        "usage: impairment_matrix [--trials N] [--seed S] [--filter TEXT]... \
         [--show failures] [--trace SEED] [--timers INITIAL,MAX,DEADLINE]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut trials = 200u64;
    let mut seed = 1u64;
    let mut filters: Vec<String> = Vec::new();
    let mut show_failures = false;
    let mut trace: Option<u64> = None;
    let mut timers = Timers::DEFAULT;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next();
        match (a.as_str(), value) {
            ("--trials", Some(v)) => match v.parse() {
                Ok(n) if n > 0 => trials = n,
                _ => return usage(),
            },
            ("--seed", Some(v)) => match v.parse() {
                Ok(n) => seed = n,
                _ => return usage(),
            },
            ("--filter", Some(v)) => filters.push(v),
            ("--show", Some(v)) => match v.as_str() {
                "failures" => show_failures = true,
                _ => return usage(),
            },
            ("--timers", Some(v)) => {
                let n: Vec<u64> = v.split(',').filter_map(|x| x.parse().ok()).collect();
                match n[..] {
                    [initial_rto_ms, max_rto_ms, handshake_timeout_ms] => {
                        timers = Timers {
                            initial_rto_ms,
                            max_rto_ms,
                            handshake_timeout_ms,
                        }
                    }
                    _ => return usage(),
                }
            }
            ("--trace", Some(v)) => match v.parse() {
                Ok(n) => trace = Some(n),
                _ => return usage(),
            },
            _ => return usage(),
        }
    }
    let cells: Vec<_> = full_matrix()
        .into_iter()
        .filter(|c| filters.iter().all(|f| c.label().contains(f.as_str())))
        .map(|c| impair::Cell { timers, ..c })
        .collect();
    if cells.is_empty() {
        eprintln!("no cell matches the filters");
        return ExitCode::from(2);
    }
    if let Some(seed) = trace {
        for cell in &cells {
            let t = trace_trial(cell, seed);
            println!("# {} seed {seed}: {:?}", cell.label(), t.kind());
            for line in &t.trace {
                println!("{line}");
            }
        }
        return ExitCode::SUCCESS;
    }
    let t = timers;
    println!(
        "# {} cells x {trials} trials (seeds {seed}..{}); timers: initial RTO {} ms, max {} ms, \
         deadline {} ms",
        cells.len(),
        seed + trials - 1,
        t.initial_rto_ms,
        t.max_rto_ms,
        t.handshake_timeout_ms
    );
    println!(
        "# RTO schedule (ms): {:?}; times are virtual ms until both roles are connected",
        t.schedule()
    );
    println!(
        "# profiles: plain = 50 ms one way; reorder = 20 % held back + 0-20 ms jitter; \
         dup = 20 % duplicated; corrupt = 10 % with one bit flipped; mixed = 10 % reorder + \
         10 % dup + 0-30 ms jitter; slow = 600 ms one way"
    );
    println!("{}", table_header());
    let started = Instant::now();
    let mut stdout = std::io::stdout();
    let mut total = 0usize;
    let mut hung = 0usize;
    let mut leaked = 0usize;
    let mut reports = Vec::new();
    for cell in &cells {
        let r = run_cell(cell, trials, seed);
        println!("{}", format_row(&r));
        if show_failures {
            for t in r.trials.iter().filter(|t| t.kind() != Kind::Completed) {
                println!("#   {}", t.describe());
            }
        }
        let _ = stdout.flush();
        total += r.trials.len();
        hung += r.count(&Kind::Hung);
        leaked += r
            .trials
            .iter()
            .map(|t| t.foreign_app_records() + t.duplicate_app_records())
            .sum::<usize>();
        // Only the counts are kept for the summary: drop the per-trial details.
        reports.push(impair::CellReport {
            trials: r
                .trials
                .into_iter()
                .map(|mut t| {
                    t.client.app_sent = Vec::new();
                    t.client.app_received = Vec::new();
                    t.server.app_sent = Vec::new();
                    t.server.app_received = Vec::new();
                    t
                })
                .collect(),
            ..r
        });
    }
    println!("#");
    for line in impair::summary(&reports).lines() {
        println!("# {line}");
    }
    println!(
        "# {total} trials in {:.1} s wall; hung: {hung}; corrupted or duplicated application \
         records delivered: {leaked}",
        started.elapsed().as_secs_f64()
    );
    if hung > 0 || leaked > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
