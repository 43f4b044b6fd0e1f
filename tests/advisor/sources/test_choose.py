"""Choosing the data source: one function, from the config."""
import pytest


def test_the_data_source_is_chosen_in_one_place():
    from perfadvisor.advisor import config as C
    from perfadvisor.advisor.errors import ConfigError
    from perfadvisor.advisor.sources import SOURCES, choose
    src = choose(C.build(prometheus_url="http://127.0.0.1:9/prom", env={}))
    assert src.name == "prometheus" and src.base == "http://127.0.0.1:9/prom"
    src = choose(C.build(env={"PERFADVISOR_PROMETHEUS_URL": "https://u:pw@prom.example:9090"}))
    assert src.base == "https://prom.example:9090"           # credentials kept out of the displayed URL
    with pytest.raises(ConfigError, match="PERFADVISOR_PROMETHEUS_URL"):
        choose(C.build(env={}))                               # local mode needs samples; the CLI collects them
    assert {"prometheus", "embedded"} <= set(SOURCES)


def test_local_mode_answers_from_its_samples():
    from perfadvisor.advisor import config as C
    from perfadvisor.advisor.promql.storage import Storage
    from perfadvisor.advisor.sources import choose, local_mode
    storage = Storage()
    storage.add({"__name__": "up", "job": "node"}, 1_000_000, 1.0)
    cfg = C.build(env={})
    assert local_mode(cfg) and not local_mode(C.build(prometheus_url="http://127.0.0.1:9", env={}))
    src = choose(cfg, storage)
    assert src.name == "embedded"
    assert [s.labels for s in src.instant("up", 1000.0).series] == [{"__name__": "up", "job": "node"}]
