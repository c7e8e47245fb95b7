//! The sandbox process (`genkan render-sandbox`): limits itself (memory, CPU time,
//! priority) before it reads anything, then renders jobs from stdin and answers on
//! stdout until stdin closes. Each part renders with a fuel budget, a recursion
//! limit and a capped output; the server kills the process when a job overruns its
//! time, and a memory bomb ends the process at its memory limit.

use std::io::Write;
use std::process::ExitCode;

use minijinja::ErrorKind;

use super::Limit;
use super::protocol::{
    Answer, Failure, HELLO, Job, JobPart, MAX_JOB_BYTES, read_frame, write_frame,
};
use crate::notify::render::Renderer;

/// Template nesting allowed (a macro call counts about 10, an `if` or `for` 1).
const RECURSION_LIMIT: usize = 200;
/// Nice value of a sandbox process: the lowest, so the server's own threads always
/// come first (measured: nice 10 doubled the server's median latency during bombs).
/// Fuel keeps legitimate renders to milliseconds, far inside the time limit even
/// with a small share of a busy CPU.
pub(super) const NICENESS: i32 = 19;

/// How the server starts a sandbox process.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Memory (MiB) the process may allocate.
    #[arg(long)]
    pub memory_mib: u64,
    /// CPU seconds the process may use in all; it retires after half of them.
    #[arg(long)]
    pub cpu_secs: u64,
}

/// Runs the sandbox until its input closes. Must run before any other thread starts.
pub fn run(args: &SandboxArgs) -> ExitCode {
    if let Err(e) = confine(args) {
        eprintln!("render-sandbox: cannot limit itself: {e}");
        return ExitCode::FAILURE;
    }
    let mut input = std::io::stdin().lock();
    let mut output = std::io::stdout().lock();
    let hello = Answer::Hello {
        protocol: HELLO.to_owned(),
    };
    if write_frame(&mut output, &hello).is_err() {
        return ExitCode::FAILURE;
    }
    loop {
        let job: Job = match read_frame(&mut input, MAX_JOB_BYTES) {
            Ok(Some(job)) => job,
            Ok(None) => return ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("render-sandbox: unreadable job: {e}");
                return ExitCode::FAILURE;
            }
        };
        let retire_after = args.cpu_secs / 2;
        let answer = render_job(&job, &mut output, || cpu_seconds() >= retire_after);
        let retire = matches!(
            answer,
            Answer::Rendered { retire: true, .. } | Answer::Failed { retire: true, .. }
        );
        if write_frame(&mut output, &answer).is_err() || retire {
            return ExitCode::SUCCESS;
        }
    }
}

/// Sets this process's limits: data and address space, CPU time, priority.
fn confine(args: &SandboxArgs) -> std::io::Result<()> {
    use rustix::process::{Resource, Rlimit, setpriority_process, setrlimit};
    let memory = args.memory_mib.max(16) * 1024 * 1024;
    setrlimit(
        Resource::Data,
        Rlimit {
            current: Some(memory),
            maximum: Some(memory),
        },
    )?;
    // The address space it has now (code, libraries, stacks) plus what it may allocate.
    let mapped = std::fs::read_to_string("/proc/self/statm")?
        .split_whitespace()
        .next()
        .and_then(|pages| pages.parse::<u64>().ok())
        .ok_or_else(|| std::io::Error::other("unreadable /proc/self/statm"))?
        * rustix::param::page_size() as u64;
    let space = mapped + memory;
    setrlimit(
        Resource::As,
        Rlimit {
            current: Some(space),
            maximum: Some(space),
        },
    )?;
    let cpu = args.cpu_secs.max(2);
    setrlimit(
        Resource::Cpu,
        Rlimit {
            current: Some(cpu),
            maximum: Some(cpu + 1),
        },
    )?;
    setpriority_process(None, NICENESS)?;
    Ok(())
}

/// CPU seconds this process has used.
fn cpu_seconds() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    u64::try_from(t.tv_sec).unwrap_or(0)
}

/// Renders every part of `job` in order, announcing each on `output` first.
fn render_job(job: &Job, output: &mut impl Write, retire: impl Fn() -> bool) -> Answer {
    let context = minijinja::Value::from_serialize(&job.context);
    let mut outputs = Vec::with_capacity(job.parts.len());
    for (index, part) in job.parts.iter().enumerate() {
        if write_frame(output, &Answer::Started { index }).is_err() {
            break;
        }
        let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            render_part(part, &context, job.fuel, job.output_bytes)
        }))
        .unwrap_or_else(|_| {
            Err(Failure::Template {
                line: None,
                detail: "the template engine failed on this template".to_owned(),
            })
        });
        match rendered {
            Ok(text) => outputs.push(text),
            Err(failure) => {
                return Answer::Failed {
                    index,
                    failure,
                    retire: retire(),
                };
            }
        }
    }
    Answer::Rendered {
        outputs,
        retire: retire(),
    }
}

/// Renders one part within `fuel` instructions and `cap` bytes of output.
pub(super) fn render_part(
    part: &JobPart,
    context: &minijinja::Value,
    fuel: u64,
    cap: usize,
) -> Result<String, Failure> {
    let mut env = Renderer::environment();
    env.set_fuel(Some(fuel.max(1)));
    env.set_recursion_limit(RECURSION_LIMIT);
    let template = env
        .template_from_named_str(&part.name, &part.source)
        .map_err(|e| failure(&e))?;
    let mut out = Capped {
        bytes: Vec::new(),
        cap,
        over: false,
    };
    match template.render_captured_to(context, &mut out) {
        Ok(_) => String::from_utf8(out.bytes).map_err(|_| Failure::Template {
            line: None,
            detail: "the output is not UTF-8".to_owned(),
        }),
        Err(_) if out.over => Err(Failure::Limit(Limit::Output)),
        Err(e) => Err(failure(&e)),
    }
}

fn failure(e: &minijinja::Error) -> Failure {
    match e.kind() {
        ErrorKind::OutOfFuel => Failure::Limit(Limit::Fuel),
        ErrorKind::InvalidOperation
            if e.detail().is_some_and(|d| d.contains("recursion limit")) =>
        {
            Failure::Limit(Limit::Depth)
        }
        kind => Failure::Template {
            line: e.line(),
            detail: match e.detail() {
                Some(detail) => format!("{kind} ({detail})"),
                None => kind.to_string(),
            },
        },
    }
}

/// A writer that refuses to grow past `cap` bytes.
struct Capped {
    bytes: Vec<u8>,
    cap: usize,
    over: bool,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > self.cap {
            self.over = true;
            return Err(std::io::Error::other("output limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::custom::Part;

    fn part(source: &str) -> JobPart {
        JobPart {
            part: Part::Html,
            name: "x/en/body.html".to_owned(),
            source: source.to_owned(),
        }
    }

    fn render(source: &str) -> Result<String, Failure> {
        let ctx = minijinja::Value::from_serialize(serde_json::json!({"name": "<b>"}));
        render_part(&part(source), &ctx, 100_000, 4096)
    }

    #[test]
    fn a_plain_template_renders_escaped() {
        assert_eq!(render("Hi {{ name }}").unwrap(), "Hi &lt;b&gt;");
    }

    #[test]
    fn each_bomb_meets_its_own_limit() {
        assert_eq!(
            render(
                "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
            ),
            Err(Failure::Limit(Limit::Fuel))
        );
        assert_eq!(
            render("{{ 'x' * 10000 }}"),
            Err(Failure::Limit(Limit::Output))
        );
        assert_eq!(
            render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"),
            Err(Failure::Limit(Limit::Depth))
        );
        let Err(Failure::Template { line, detail }) = render("a\n{{ nope }}") else {
            panic!("an unknown variable is a template error");
        };
        assert_eq!(line, Some(2));
        assert!(detail.contains("undefined"), "{detail}");
    }

    #[test]
    fn a_job_announces_each_part_and_stops_at_the_first_failure() {
        let job = Job {
            parts: vec![part("ok"), part("{{ nope }}"), part("never")],
            context: serde_json::json!({}),
            fuel: 1000,
            output_bytes: 1000,
        };
        let mut frames = Vec::new();
        let answer = render_job(&job, &mut frames, || false);
        assert!(matches!(
            answer,
            Answer::Failed {
                index: 1,
                retire: false,
                ..
            }
        ));
        let mut r = frames.as_slice();
        let mut started = Vec::new();
        while let Some(Answer::Started { index }) = read_frame(&mut r, 1024).unwrap() {
            started.push(index);
        }
        assert_eq!(started, [0, 1]);
    }
}
