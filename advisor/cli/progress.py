"""Progress bars on stderr for long work (only used when stderr is a terminal): sampling, then evaluating rules."""
from __future__ import annotations


def evaluation_progress():
    """A rich progress bar on stderr for evaluation (only used when stderr is a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    state: dict = {}

    def update(done: int, total: int, result) -> None:
        if "p" not in state:
            p = Progress(TextColumn("evaluating rules"), BarColumn(), MofNCompleteColumn(),
                         TextColumn("{task.description}"), console=Console(stderr=True), transient=True)
            p.start()
            state["p"], state["t"] = p, p.add_task("", total=total)
        p, t = state["p"], state["t"]
        p.update(t, completed=done, description=result.rule.id if result else "")
        if done >= total:
            close()

    def close() -> None:
        if "p" in state and not state.get("stopped"):
            state["stopped"] = True
            state["p"].stop()
    update.close = close
    return update


def sampling_progress():
    """A rich progress bar on stderr for local mode's sampling phase (only used when stderr is a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    state: dict = {}

    def update(done: float, total: float) -> None:
        if "p" not in state:
            p = Progress(TextColumn("sampling this machine"), BarColumn(),
                         TextColumn("{task.completed:.0f}/{task.total:.0f} s"), TimeRemainingColumn(),
                         console=Console(stderr=True), transient=True)
            p.start()
            state["p"], state["t"] = p, p.add_task("", total=max(total, 1e-9))
        state["p"].update(state["t"], completed=done)
        if done >= total:
            state["p"].stop()
    return update
