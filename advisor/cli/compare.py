"""``advisor compare`` (placeholder until the statistics land)."""
import click


@click.command("compare")
def compare() -> None:
    """Compare two samples."""
