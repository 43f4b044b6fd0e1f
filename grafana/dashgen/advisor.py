"""Advisor findings & score, from the metrics `advisor run --textfile DIR` writes for the textfile collector.

The metric names are the contract with the advisor (see README, "Dashboards and alerting"):
  perfadvisor_advisor_score{dimension}                       0-100, dimension="overall" is the total
  perfadvisor_advisor_findings{category,dimension,severity}  number of findings
  perfadvisor_advisor_finding_info{pack,rule,severity,category,dimension,target,title}  1 per finding
  perfadvisor_advisor_rules{state="evaluated"|"not_evaluated"}  number of rules
  perfadvisor_advisor_last_run_timestamp_seconds             when the run finished (Unix time)
A finding names what it is about in `target`, not `instance`: Prometheus would rename an exposed `instance`
to `exported_instance` because the scrape target sets `instance` itself.
"""
from __future__ import annotations

from .core import SEL, Dashboard, bargauge, gauge, stat, table, target as t, timeseries

SCORE_STEPS = [(None, "red"), (50, "orange"), (75, "yellow"), (90, "green")]


def build() -> Dashboard:
    d = Dashboard("perfadvisor-advisor", "Advisor findings & score",
                  "The advisor's last run: the 0-100 score per dimension and the findings behind it.",
                  key_metric="perfadvisor_advisor_score", tags=["advisor"])
    d.row(
        "Score",
        gauge("Overall score", t(f'perfadvisor_advisor_score{{{SEL},dimension="overall"}}', "{{instance}}"),
              unit="none", thresholds=SCORE_STEPS, w=6, h=8,
              description="100 means no rule found anything to improve."),
        bargauge("Score by dimension",
                 t(f'perfadvisor_advisor_score{{{SEL},dimension!="overall"}}', "{{instance}} {{dimension}}"),
                 unit="none", min=0, max=100, thresholds=SCORE_STEPS, w=10, h=8),
        stat("Findings", t(f"sum(perfadvisor_advisor_findings{{{SEL}}}) or vector(0)", "findings"), w=4, h=4,
             thresholds=[(None, "green"), (1, "orange")]),
        stat("Critical findings", t(f'sum(perfadvisor_advisor_findings{{{SEL},severity="critical"}}) or vector(0)',
                                    "critical"), w=4, h=4, thresholds=[(None, "green"), (1, "red")]),
        stat("Last run", t(f"time() - max(perfadvisor_advisor_last_run_timestamp_seconds{{{SEL}}})", "age"),
             unit="s", w=4, h=4, thresholds=[(None, "green"), (3600, "orange"), (86400, "red")],
             description="How long ago the advisor last wrote its results."),
        stat("Rules not evaluated",
             t(f'sum(perfadvisor_advisor_rules{{{SEL},state="not_evaluated"}}) '
               f'/ sum(perfadvisor_advisor_rules{{{SEL}}})', "not evaluated"),
             unit="percentunit", w=4, h=4, thresholds=[(None, "green"), (0.25, "orange"), (0.5, "red")],
             description="Rules skipped because the metrics they need were missing; their dimension's score "
                         "is less certain."),
    )
    d.row(
        "History",
        timeseries("Score over time", t(f"perfadvisor_advisor_score{{{SEL}}}", "{{instance}} {{dimension}}"),
                   unit="none", min=0, max=100),
        timeseries("Findings by severity",
                   t(f"sum by (severity) (perfadvisor_advisor_findings{{{SEL}}})", "{{severity}}"),
                   unit="short", min=0, stack=True),
    )
    d.row(
        "Findings",
        bargauge("Findings by category",
                 t(f"sum by (category) (perfadvisor_advisor_findings{{{SEL}}})", "{{category}}"), w=12, h=6),
        bargauge("Findings by dimension",
                 t(f"sum by (dimension) (perfadvisor_advisor_findings{{{SEL}}})", "{{dimension}}"), w=12, h=6),
        table("Findings now", f"perfadvisor_advisor_finding_info{{{SEL}}}", hide=["Value", "job"], h=10,
              rename={"target": "about"}),
    )
    return d
