"""Progress lines of long jobs: "41 s (about 96 s left)", and the reporter the CLI's long commands print with."""
import sys
import time

PROGRESS_SECONDS = 10.0  # long CLI jobs print a line at most this often


def elapsed_and_left(elapsed, done, remaining):
    """"41 s (about 96 s left)": `elapsed` seconds for `done` units, the `remaining` units at the same rate."""
    return f"{elapsed:.0f} s (about {elapsed / done * remaining:.0f} s left)"


def progress_reporter(what, print_fn=print):
    """report(done, total): a line "done/total what - 41 s (about 96 s left)" to stderr at most every PROGRESS_SECONDS (none
    once done reaches total): what `sample --format folder`, `evaluate`, `memorization` and `project` show."""
    started = last = time.monotonic()

    def report(done, total):
        nonlocal last
        now = time.monotonic()
        if now - last < PROGRESS_SECONDS or done >= total:
            return
        last = now
        print_fn(f"{done}/{total} {what} - {elapsed_and_left(now - started, done, total - done)}", file=sys.stderr,
                 flush=True)

    return report
