"""Rule packs: YAML files of PromQL rules, validated on load into frozen dataclasses.

    from perfadvisor.advisor.packs import load_builtin, load_pack
    for pack in load_builtin():
        for r in pack.resolved():      # defaults; pass {"cpu_high": 0.9} to override
            print(r.rule.id, r.alert_expr, r.alert_for, r.rule.severity, r.rule.summary)
"""
from .loader import BUILTIN, load_builtin, load_pack, load_path, load_text
from .model import Condition, Evaluation, Evidence, Pack, Replicas, ResolvedRule, Rule, ScoreCurve, Sizing
from .params import Parameter, promql_string, substitute

__all__ = ["BUILTIN", "load_builtin", "load_pack", "load_path", "load_text", "Condition", "Evaluation",
           "Evidence", "Pack", "Replicas", "ResolvedRule", "Rule", "ScoreCurve", "Sizing", "Parameter",
           "promql_string", "substitute"]
