"""Generated reference docs in README.md are up to date (run scripts/gen-docs to refresh)."""
from perfadvisor.advisor.docs import rules_reference, update


def test_readme_generated_blocks_are_current(repo_root):
    text = (repo_root / "README.md").read_text()
    assert "<!-- BEGIN rules -->" in text and "<!-- BEGIN advisor-cli -->" in text
    assert update(text) == text, "README.md is stale: run scripts/gen-docs"


def test_rules_block_lists_every_builtin_rule():
    from perfadvisor.advisor.packs import load_builtin
    doc = rules_reference()
    for p in load_builtin():
        for r in p.rules:
            assert f"| `{r.id}` |" in doc
