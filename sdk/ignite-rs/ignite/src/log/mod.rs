//! Function logs: which invocation a line belongs to.
//!
//! A native program serves many invocations at once and its stderr is one stream, so the
//! platform cannot tell by itself which invocation wrote a line. While the SDK polls a
//! handler (or runs a synchronous one) it keeps that invocation's [`Context`] in a
//! thread-local, and [`ignite::eprintln!`](crate::eprintln) and
//! [`ignite::println!`](crate::println) write each of their lines to stderr tagged with it:
//!
//! ```text
//! \x1eexec <execution-id> stderr <text>
//! ```
//!
//! (`\x1e`, the ASCII record separator, then the wasm host's own line format,
//! `apps/runner/wasm-host/README.md`). So do the SDK's own words about an invocation (its
//! error, its panic's message and location). `#[ignite::main]` makes the `eprintln!` and
//! `println!` of the handler's body these; elsewhere `use ignite::{eprintln, println};` does
//! (an explicit import: a glob cannot shadow std's macros). A line written outside any
//! invocation (at start, by a task the handler spawned with `tokio::spawn`, with std's macros,
//! by a dependency) is written as it is, and the platform records it without an execution.
//!
//! Natively the lines go to stderr in batches from a thread of the SDK's (`stderr_batches`:
//! a flood of lines costs a few large writes, not one system call each).
//!
//! On wasm32 each invocation has a component instance of its own: the host knows which
//! invocation every line belongs to, and the macros write as std's do.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write as _;

use crate::context::Context;

#[cfg(not(target_arch = "wasm32"))]
mod stderr_batches;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use stderr_batches::flush;

/// Starts a tagged line (see the module's documentation).
const TAG: char = '\u{1e}';

thread_local! {
    /// The invocation whose handler this thread is running, while it runs it.
    static CURRENT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// Runs `f` as part of the invocation of `ctx`: what it logs is that invocation's.
#[cfg(target_arch = "wasm32")]
pub(crate) fn in_invocation<R>(_ctx: &Context, f: impl FnOnce() -> R) -> R {
    // The host tags every line of the instance: a tag here would be a second one.
    f()
}

/// Runs `f` as part of the invocation of `ctx`: what it logs is that invocation's.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn in_invocation<R>(ctx: &Context, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Context>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            // A thread being torn down has no thread-locals left to restore.
            let _ = CURRENT.try_with(|current| *current.borrow_mut() = previous);
        }
    }
    let previous = CURRENT.with(|current| current.replace(Some(ctx.clone())));
    let _restore = Restore(previous);
    f()
}

/// The execution id of the invocation this thread is running, if any.
pub(crate) fn with_current_execution<R>(f: impl FnOnce(Option<&str>) -> R) -> R {
    // A thread being torn down has no invocation.
    let current = CURRENT
        .try_with(|current| current.borrow().clone())
        .ok()
        .flatten();
    f(current.as_ref().map(Context::execution_id))
}

/// Which of the program's streams a line was written for.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// `println!`.
    Stdout,
    /// `eprintln!`, and the SDK's own words about an invocation.
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Writes one log line (what `ignite::eprintln!`/`ignite::println!` expand to): tagged with the
/// current invocation when there is one, each of its lines on its own.
#[doc(hidden)]
pub fn write_line(stream: Stream, args: fmt::Arguments<'_>) {
    let mut text = String::new();
    let _ = text.write_fmt(args);
    with_current_execution(|execution| {
        let out = tagged(stream, execution, &text);
        if cfg!(target_arch = "wasm32") && stream == Stream::Stdout {
            // Nowhere to say that the stream is gone; std's macros would panic, which a log
            // line must not do to an invocation.
            let _ = std::io::stdout().lock().write_all(out.as_bytes());
        } else {
            write_stderr(&out);
        }
    });
}

/// Natively in batches, off the handler's thread (see `stderr_batches`); on wasm32 the host
/// reads each write as it comes.
fn write_stderr(out: &str) {
    #[cfg(not(target_arch = "wasm32"))]
    stderr_batches::write(out.as_bytes());
    #[cfg(target_arch = "wasm32")]
    let _ = std::io::stderr().lock().write_all(out.as_bytes());
}

/// The bytes written for `text`: a tagged line per line of it inside an invocation; outside
/// one, the text as it is (natively on stderr, stdout's lines too: the platform reads only
/// stderr).
fn tagged(stream: Stream, execution: Option<&str>, text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split('\n') {
        match execution {
            Some(id) => {
                let _ = write!(out, "{TAG}exec {id} {} {line}", stream.name());
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Writes the SDK's own line about the current invocation (its error, its panic) as a stderr
/// line of it; outside an invocation, with `ignite: ` in front.
pub(crate) fn platform_line(text: &str) {
    with_current_execution(|execution| {
        let out = match execution {
            Some(_) => tagged(Stream::Stderr, execution, text),
            None => format!("ignite: {text}\n"),
        };
        write_stderr(&out);
    });
}

/// A panic hook that writes a handler's panic (message and location) as a line of its
/// invocation; other panics (the SDK's threads, a task the handler spawned) go to the hook
/// that was installed before.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_invocation = with_current_execution(|execution| execution.is_some());
        if !in_invocation {
            // Its message after the lines written before it.
            flush();
            previous(info);
            return;
        }
        let message = crate::panic::message(info.payload());
        let text = match info.location() {
            Some(location) => format!("panicked at {location}: {message}"),
            None => format!("panicked: {message}"),
        };
        platform_line(&text);
    }));
}

/// `eprintln!`, with each line tagged with the invocation it belongs to, so that the function's
/// log shows it with its execution id. `#[ignite::main]` makes the handler's own `eprintln!`
/// this one; in other functions, import it (an explicit import shadows std's macro; a glob
/// cannot):
///
/// ```
/// use ignite::eprintln;
///
/// fn helper(order: u32) {
///     eprintln!("checking order {order}");
/// }
/// # helper(1);
/// ```
#[macro_export]
macro_rules! eprintln {
    () => {
        $crate::__private::write_line($crate::__private::Stream::Stderr, ::core::format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::__private::write_line($crate::__private::Stream::Stderr, ::core::format_args!($($arg)*))
    };
}

/// `println!`, as a log line: natively the platform reads stderr, so the line goes there, tagged
/// as stdout (see [`eprintln!`](crate::eprintln), which says where it applies).
#[macro_export]
macro_rules! println {
    () => {
        $crate::__private::write_line($crate::__private::Stream::Stdout, ::core::format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::__private::write_line($crate::__private::Stream::Stdout, ::core::format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_tagged_one_by_one_inside_an_invocation() {
        assert_eq!(
            tagged(Stream::Stderr, Some("e-1"), "a\nb"),
            "\u{1e}exec e-1 stderr a\n\u{1e}exec e-1 stderr b\n"
        );
        assert_eq!(
            tagged(Stream::Stdout, Some("e-1"), ""),
            "\u{1e}exec e-1 stdout \n"
        );
        assert_eq!(tagged(Stream::Stderr, None, "plain"), "plain\n");
    }
}
